//! The SafeLives DASH RIC (24 questions), DOMAIN.md §4. The score is the number of `yes`
//! answers, computed here and never taken from the client.

use serde::{Deserialize, Serialize};

pub const SAFELIVES_24: &str = "safelives_24";

/// Question codes of the SafeLives 24-question version, in order.
pub const QUESTIONS: [&str; 24] = [
    "dash_q01_injury",
    "dash_q02_very_frightened",
    "dash_q03_fears_further_harm",
    "dash_q04_isolated",
    "dash_q05_depressed_suicidal",
    "dash_q06_separation",
    "dash_q07_child_contact_conflict",
    "dash_q08_stalking_harassment",
    "dash_q09_pregnant_recent_birth",
    "dash_q10_more_often",
    "dash_q11_getting_worse",
    "dash_q12_controlling_jealous",
    "dash_q13_weapons",
    "dash_q14_threats_to_kill",
    "dash_q15_strangulation",
    "dash_q16_sexual_abuse",
    "dash_q17_other_threat",
    "dash_q18_hurt_others",
    "dash_q19_animal_abuse",
    "dash_q20_financial_issues",
    "dash_q21_drugs_alcohol_mh",
    "dash_q22_abuser_suicide",
    "dash_q23_breached_orders",
    "dash_q24_criminal_history",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Yes,
    No,
    DontKnow,
}

/// The yes-count and the don't-know count of a complete set of answers.
pub fn score<'a>(answers: impl IntoIterator<Item = &'a Answer>) -> (i32, i32) {
    answers.into_iter().fold((0, 0), |(yes, dk), a| match a {
        Answer::Yes => (yes + 1, dk),
        Answer::DontKnow => (yes, dk + 1),
        Answer::No => (yes, dk),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_counts_yes_only_and_reports_dont_know() {
        let mut answers = vec![Answer::No; 24];
        answers[..14].fill(Answer::Yes);
        answers[20] = Answer::DontKnow;
        assert_eq!(score(&answers), (14, 1));
        assert_eq!(score(&[Answer::DontKnow; 24]), (0, 24));
        assert_eq!(QUESTIONS.len(), 24);
    }
}
