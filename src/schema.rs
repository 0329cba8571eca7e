// @generated automatically by Diesel CLI.

diesel::table! {
    agencies (id) {
        id -> Uuid,
        name -> Text,
        agency_type -> Text,
        aliases -> Array<Text>,
        active -> Bool,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    agency_names (normalized) {
        normalized -> Text,
        agency_id -> Uuid,
    }
}

diesel::table! {
    login_throttles (key_hash) {
        key_hash -> Bytea,
        failures -> Int4,
        last_failed_at -> Timestamptz,
        blocked_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    panel_members (panel_id, agency_id) {
        panel_id -> Uuid,
        agency_id -> Uuid,
        isa_signed_on -> Nullable<Date>,
        active -> Bool,
    }
}

diesel::table! {
    panel_settings_versions (panel_id, version) {
        panel_id -> Uuid,
        version -> Int4,
        effective_from -> Timestamptz,
        settings -> Jsonb,
    }
}

diesel::table! {
    panels (id) {
        id -> Uuid,
        kind -> Text,
        name -> Text,
        local_area -> Text,
        meeting_cadence -> Text,
        minutes_per_case -> Int2,
        dash_high_risk_threshold -> Int2,
        escalation_incident_count -> Int2,
        escalation_window_days -> Int2,
        repeat_window_days -> Int2,
        repeat_window_anchor -> Text,
        cmarac_high_risk_threshold -> Nullable<Int4>,
        reporting_year_start_month -> Int2,
        adult_female_population_16_plus -> Nullable<Int4>,
        population_source -> Nullable<Text>,
        population_year -> Nullable<Int2>,
        suppression_k -> Int2,
        active -> Bool,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Bytea,
        session_id -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
        ended_reason -> Nullable<Text>,
    }
}

diesel::table! {
    user_roles (id) {
        id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        panel_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        display_name -> Text,
        agency_id -> Nullable<Uuid>,
        password_hash -> Text,
        active -> Bool,
        tokens_valid_after -> Timestamptz,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(agency_names -> agencies (agency_id));
diesel::joinable!(panel_members -> agencies (agency_id));
diesel::joinable!(panel_members -> panels (panel_id));
diesel::joinable!(panel_settings_versions -> panels (panel_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(user_roles -> panels (panel_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(users -> agencies (agency_id));

diesel::allow_tables_to_appear_in_same_query!(
    agencies,
    agency_names,
    login_throttles,
    panel_members,
    panel_settings_versions,
    panels,
    refresh_tokens,
    sessions,
    user_roles,
    users,
);
