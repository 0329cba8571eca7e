use diesel_derive_newtype::DieselNewType;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, DieselNewType)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    )+};
}

typed_id!(
    /// An organisation (agency).
    AgencyId,
    /// A user account.
    UserId,
    /// A panel (one MARAC, CMARAC or JAG).
    PanelId,
    /// A sign-in session; its refresh tokens form one family.
    SessionId,
    /// A case (referral) on one panel.
    CaseId,
    /// A person recorded once and linked to cases in roles.
    PersonId,
    /// A place that can be the subject of a JAG case.
    LocationId,
    /// One risk assessment of a case.
    AssessmentId,
    /// A panel meeting.
    MeetingId,
    /// One case listed on a meeting's agenda.
    AgendaItemId,
    /// One organisation's (or person's) attendance at a meeting.
    AttendanceId,
    /// A discussion note on an agenda item.
    NoteId,
    /// An action an agency agreed to take on a case.
    ActionId,
    /// A partner's progress note on an action.
    ActionUpdateId,
);
