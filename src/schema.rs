// @generated automatically by Diesel CLI.

diesel::table! {
    action_updates (id) {
        id -> Uuid,
        action_id -> Uuid,
        seq -> Int8,
        agency_id -> Nullable<Uuid>,
        note -> Text,
        created_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    actions (id) {
        id -> Uuid,
        case_id -> Uuid,
        meeting_id -> Nullable<Uuid>,
        description -> Text,
        owner_agency_id -> Uuid,
        owner_user_id -> Nullable<Uuid>,
        due_date -> Date,
        status -> Text,
        outcome_note -> Nullable<Text>,
        completed_on -> Nullable<Date>,
        created_by -> Uuid,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        panel_id -> Uuid,
        case_reference -> Text,
    }
}

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
    agenda_items (id) {
        id -> Uuid,
        meeting_id -> Uuid,
        case_id -> Uuid,
        section -> Text,
        position -> Int4,
        listing_reason -> Text,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    alerts (id) {
        id -> Uuid,
        kind -> Text,
        panel_id -> Uuid,
        case_id -> Uuid,
        user_id -> Uuid,
        agency_id -> Nullable<Uuid>,
        reason -> Text,
        request_id -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    attendance (id) {
        id -> Uuid,
        meeting_id -> Uuid,
        agency_id -> Uuid,
        user_id -> Nullable<Uuid>,
        person_name -> Nullable<Text>,
        attendance_type -> Text,
        confidentiality_acknowledged_at -> Nullable<Timestamptz>,
        recorded_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    audit_chain_head (id) {
        id -> Bool,
        last_seq -> Int8,
        last_hash -> Bytea,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Int8,
        occurred_at -> Timestamptz,
        request_id -> Text,
        user_id -> Nullable<Uuid>,
        org_id -> Nullable<Uuid>,
        roles -> Array<Text>,
        panel_id -> Nullable<Uuid>,
        action -> Text,
        route -> Text,
        method -> Text,
        object_type -> Text,
        object_ids -> Array<Uuid>,
        tags_disclosed -> Array<Text>,
        purpose -> Nullable<Text>,
        outcome -> Text,
    }
}

diesel::table! {
    audit_pending (event_id) {
        event_id -> Int8,
    }
}

diesel::table! {
    audit_seals (seq) {
        seq -> Int8,
        event_id -> Int8,
        prev_hash -> Bytea,
        hash -> Bytea,
    }
}

diesel::table! {
    case_closure_requests (id) {
        id -> Uuid,
        case_id -> Uuid,
        categories -> Array<Text>,
        reason -> Text,
        closed_on -> Date,
        requested_by -> Uuid,
        requested_at -> Timestamptz,
        decision -> Nullable<Text>,
        decision_reason -> Nullable<Text>,
        decided_by -> Nullable<Uuid>,
        decided_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    case_exclusions (id) {
        id -> Uuid,
        case_id -> Uuid,
        user_id -> Uuid,
        reason -> Text,
        created_by -> Uuid,
        created_at -> Timestamptz,
        lifted_by -> Nullable<Uuid>,
        lifted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    case_field_changes (id) {
        id -> Uuid,
        case_id -> Uuid,
        field -> Text,
        tag -> Nullable<Text>,
        old_value -> Jsonb,
        new_value -> Jsonb,
        old_supplied_by -> Nullable<Uuid>,
        new_supplied_by -> Nullable<Uuid>,
        reason -> Nullable<Text>,
        changed_by -> Uuid,
        changed_at -> Timestamptz,
    }
}

diesel::table! {
    case_grants (id) {
        id -> Uuid,
        case_id -> Uuid,
        agency_id -> Uuid,
        tag -> Text,
        reason -> Text,
        expires_on -> Date,
        granted_by -> Uuid,
        granted_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
        ended_by -> Nullable<Uuid>,
        end_reason -> Nullable<Text>,
    }
}

diesel::table! {
    case_imports (id) {
        id -> Uuid,
        panel_id -> Uuid,
        file_sha256 -> Bytea,
        rows_total -> Int4,
        cases_created -> Int4,
        imported_by -> Uuid,
        created_at -> Timestamptz,
        report -> Nullable<Jsonb>,
    }
}

diesel::table! {
    case_links (id) {
        id -> Uuid,
        location_case_id -> Uuid,
        person_case_id -> Uuid,
        reason -> Text,
        created_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    case_participants (case_id, person_id, role) {
        case_id -> Uuid,
        person_id -> Uuid,
        role -> Text,
        added_by -> Nullable<Uuid>,
        added_at -> Timestamptz,
        ended_by -> Nullable<Uuid>,
        ended_at -> Nullable<Timestamptz>,
        ended_reason -> Nullable<Text>,
        relationship_to_victim -> Nullable<Text>,
        relationship_to_perpetrator -> Nullable<Text>,
        age_at_referral -> Nullable<Int4>,
    }
}

diesel::table! {
    case_reference_counters (panel_id, year) {
        panel_id -> Uuid,
        year -> Int4,
        last -> Int4,
    }
}

diesel::table! {
    case_status_history (id) {
        id -> Uuid,
        case_id -> Uuid,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason -> Nullable<Text>,
        changed_by -> Uuid,
        changed_at -> Timestamptz,
    }
}

diesel::table! {
    case_transfers (id) {
        id -> Uuid,
        case_id -> Uuid,
        direction -> Text,
        other_area -> Text,
        other_panel_id -> Nullable<Uuid>,
        other_case_id -> Nullable<Uuid>,
        other_reference -> Nullable<Text>,
        transferred_on -> Date,
        reason -> Text,
        idva_handover_to -> Nullable<Text>,
        idva_handover_on -> Nullable<Date>,
        recorded_by -> Uuid,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    cases (id) {
        id -> Uuid,
        panel_id -> Uuid,
        reference -> Text,
        status -> Text,
        location_id -> Nullable<Uuid>,
        referring_agency_id -> Nullable<Uuid>,
        referring_user_id -> Nullable<Uuid>,
        referral_date -> Date,
        visible_high_risk -> Bool,
        professional_judgement -> Bool,
        professional_judgement_reason -> Nullable<Text>,
        potential_escalation -> Bool,
        escalation_incident_count -> Nullable<Int4>,
        is_repeat -> Bool,
        repeat_of_case_id -> Nullable<Uuid>,
        ward_code -> Nullable<Text>,
        area_text -> Nullable<Text>,
        vulnerabilities -> Array<Text>,
        vulnerability_other_text -> Nullable<Text>,
        issue_categories -> Array<Text>,
        issue_other_text -> Nullable<Text>,
        children_in_household -> Nullable<Int4>,
        consent_status -> Text,
        victim_aware -> Nullable<Bool>,
        non_consent_reason -> Nullable<Text>,
        lawful_basis -> Text,
        special_category_condition -> Text,
        summary -> Nullable<Text>,
        rejection_reason -> Nullable<Text>,
        closure_categories -> Array<Text>,
        closure_reason -> Nullable<Text>,
        closed_on -> Nullable<Date>,
        monitoring_window_ends_on -> Nullable<Date>,
        created_by -> Uuid,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        safety_plan -> Nullable<Text>,
        safety_plan_supplied_by -> Nullable<Uuid>,
        co_referring_agency_ids -> Array<Uuid>,
        restricted_at -> Nullable<Timestamptz>,
        restricted_by -> Nullable<Uuid>,
        restriction_reason -> Nullable<Text>,
        erased_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    community_triggers (id) {
        id -> Uuid,
        panel_id -> Uuid,
        case_id -> Nullable<Uuid>,
        received_on -> Date,
        summary -> Text,
        acknowledged_on -> Nullable<Date>,
        threshold_met -> Nullable<Bool>,
        threshold_decided_on -> Nullable<Date>,
        review_held_on -> Nullable<Date>,
        recommendations -> Nullable<Text>,
        applicant_informed_on -> Nullable<Date>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        version -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    data_quality_flags (id) {
        id -> Uuid,
        panel_id -> Uuid,
        case_id -> Uuid,
        kind -> Text,
        import_id -> Nullable<Uuid>,
        line -> Nullable<Int4>,
        created_at -> Timestamptz,
        resolved_by -> Nullable<Uuid>,
        resolved_at -> Nullable<Timestamptz>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    discussion_notes (id) {
        id -> Uuid,
        agenda_item_id -> Uuid,
        agency_id -> Nullable<Uuid>,
        shared_information -> Nullable<Text>,
        risk_summary -> Nullable<Text>,
        decisions -> Nullable<Text>,
        created_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    field_policy (subject_kind, subject, tag) {
        subject_kind -> Text,
        subject -> Text,
        tag -> Text,
        access -> Text,
    }
}

diesel::table! {
    field_policy_version (id) {
        id -> Bool,
        version -> Int4,
        changed_at -> Timestamptz,
        changed_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    idempotency_keys (user_id, route, key) {
        user_id -> Uuid,
        route -> Text,
        key -> Uuid,
        fingerprint -> Bytea,
        resource_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    interventions (id) {
        id -> Uuid,
        case_id -> Uuid,
        panel_id -> Uuid,
        tool -> Text,
        used_on -> Date,
        agency_id -> Nullable<Uuid>,
        court_reference -> Nullable<Text>,
        expires_on -> Nullable<Date>,
        breach_of -> Nullable<Uuid>,
        notes -> Nullable<Text>,
        created_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    legal_holds (id) {
        id -> Uuid,
        case_id -> Uuid,
        reason -> Text,
        placed_by -> Uuid,
        placed_at -> Timestamptz,
        lifted_by -> Nullable<Uuid>,
        lifted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    location_cases (case_id) {
        case_id -> Uuid,
        nomination_source -> Nullable<Text>,
        adopted_on -> Nullable<Date>,
        locality_group -> Nullable<Text>,
        lead_agency_id -> Nullable<Uuid>,
        scan -> Nullable<Text>,
        analysis -> Nullable<Text>,
        response -> Nullable<Text>,
        assessment -> Nullable<Text>,
        version -> Int4,
        updated_by -> Nullable<Uuid>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    locations (id) {
        id -> Uuid,
        site_name -> Text,
        description -> Nullable<Text>,
        ward_code -> Nullable<Text>,
        area_text -> Nullable<Text>,
        locality -> Nullable<Text>,
        latitude -> Nullable<Float8>,
        longitude -> Nullable<Float8>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        address -> Nullable<Text>,
        postcode -> Nullable<Text>,
        uprn -> Nullable<Text>,
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
    meetings (id) {
        id -> Uuid,
        panel_id -> Uuid,
        kind -> Text,
        mode -> Text,
        meeting_date -> Date,
        start_time -> Time,
        venue -> Nullable<Text>,
        virtual_link -> Nullable<Text>,
        chair_user_id -> Nullable<Uuid>,
        agenda_cutoff_at -> Nullable<Timestamptz>,
        status -> Text,
        agenda_version -> Int4,
        created_by -> Uuid,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    minutes_versions (meeting_id, version) {
        meeting_id -> Uuid,
        version -> Int4,
        body -> Text,
        circulated_at -> Nullable<Timestamptz>,
        created_by -> Uuid,
        created_at -> Timestamptz,
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
    panel_retention (panel_id) {
        panel_id -> Uuid,
        years_after_end -> Int4,
        updated_by -> Uuid,
        updated_at -> Timestamptz,
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
        closure_requires_approval -> Bool,
    }
}

diesel::table! {
    people (id) {
        id -> Uuid,
        surname -> Text,
        forenames -> Text,
        aliases -> Array<Text>,
        normalized_name -> Text,
        date_of_birth -> Nullable<Date>,
        gender -> Text,
        ethnicity -> Nullable<Text>,
        bame -> Text,
        disability -> Text,
        lgbt -> Text,
        address_kind -> Nullable<Text>,
        address -> Nullable<Text>,
        postcode -> Nullable<Text>,
        safe_to_contact -> Nullable<Bool>,
        safe_contact_details -> Nullable<Text>,
        notes -> Nullable<Text>,
        must_not_receive -> Bool,
        created_by -> Uuid,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        health_notes -> Nullable<Text>,
        criminal_history -> Nullable<Text>,
        school -> Nullable<Text>,
        identity_supplied_by -> Nullable<Uuid>,
        address_supplied_by -> Nullable<Uuid>,
        safe_contact_supplied_by -> Nullable<Uuid>,
        health_supplied_by -> Nullable<Uuid>,
        criminal_supplied_by -> Nullable<Uuid>,
        language -> Nullable<Text>,
        interpreter_needed -> Nullable<Bool>,
        gp_practice -> Nullable<Text>,
    }
}

diesel::table! {
    person_addresses (id) {
        id -> Uuid,
        person_id -> Uuid,
        kind -> Text,
        address -> Text,
        postcode -> Nullable<Text>,
        from_date -> Nullable<Date>,
        to_date -> Nullable<Date>,
        supplied_by -> Nullable<Uuid>,
        recorded_by -> Uuid,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    person_dates_of_birth (id) {
        id -> Uuid,
        person_id -> Uuid,
        date_of_birth -> Date,
        held_by -> Nullable<Uuid>,
        recorded_by -> Uuid,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    person_field_changes (id) {
        id -> Uuid,
        person_id -> Uuid,
        field -> Text,
        old_value -> Jsonb,
        new_value -> Jsonb,
        old_supplied_by -> Nullable<Uuid>,
        new_supplied_by -> Nullable<Uuid>,
        reason -> Nullable<Text>,
        changed_by -> Uuid,
        changed_at -> Timestamptz,
    }
}

diesel::table! {
    rate_buckets (user_id, class) {
        user_id -> Uuid,
        class -> Text,
        tokens -> Float8,
        updated_at -> Timestamptz,
        last_allowed -> Bool,
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
    research_notes (id) {
        id -> Uuid,
        case_id -> Uuid,
        agency_id -> Uuid,
        body -> Text,
        created_by -> Uuid,
        created_at -> Timestamptz,
        meeting_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    retention_policies (panel_kind) {
        panel_kind -> Text,
        years_after_end -> Int4,
        version -> Int4,
        updated_by -> Nullable<Uuid>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    rights_requests (id) {
        id -> Uuid,
        panel_id -> Uuid,
        kind -> Text,
        person_id -> Nullable<Uuid>,
        case_id -> Nullable<Uuid>,
        received_on -> Date,
        identity_check -> Text,
        summary -> Text,
        extended_reason -> Nullable<Text>,
        decision -> Nullable<Text>,
        decision_reason -> Nullable<Text>,
        closed_on -> Nullable<Date>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    risk_assessments (id) {
        id -> Uuid,
        case_id -> Uuid,
        stage -> Text,
        tool -> Text,
        tool_version -> Text,
        answers -> Nullable<Jsonb>,
        score -> Int4,
        dont_know_count -> Nullable<Int4>,
        threshold -> Nullable<Int4>,
        high_risk -> Bool,
        breakdown -> Nullable<Jsonb>,
        assessed_on -> Date,
        agency_id -> Nullable<Uuid>,
        created_by -> Uuid,
        created_at -> Timestamptz,
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
    share_decisions (id) {
        id -> Uuid,
        case_id -> Uuid,
        decided_by -> Text,
        decided_on -> Date,
        reason -> Text,
        lawful_basis -> Text,
        organisation_ids -> Array<Uuid>,
        recorded_by -> Uuid,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    user_roles (id) {
        id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        panel_id -> Nullable<Uuid>,
        valid_from -> Nullable<Date>,
        valid_to -> Nullable<Date>,
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

diesel::joinable!(action_updates -> actions (action_id));
diesel::joinable!(action_updates -> agencies (agency_id));
diesel::joinable!(action_updates -> users (created_by));
diesel::joinable!(actions -> agencies (owner_agency_id));
diesel::joinable!(actions -> meetings (meeting_id));
diesel::joinable!(agency_names -> agencies (agency_id));
diesel::joinable!(agenda_items -> cases (case_id));
diesel::joinable!(agenda_items -> meetings (meeting_id));
diesel::joinable!(alerts -> agencies (agency_id));
diesel::joinable!(alerts -> cases (case_id));
diesel::joinable!(alerts -> panels (panel_id));
diesel::joinable!(alerts -> users (user_id));
diesel::joinable!(attendance -> agencies (agency_id));
diesel::joinable!(attendance -> meetings (meeting_id));
diesel::joinable!(audit_pending -> audit_events (event_id));
diesel::joinable!(audit_seals -> audit_events (event_id));
diesel::joinable!(case_closure_requests -> cases (case_id));
diesel::joinable!(case_exclusions -> cases (case_id));
diesel::joinable!(case_field_changes -> cases (case_id));
diesel::joinable!(case_field_changes -> users (changed_by));
diesel::joinable!(case_grants -> agencies (agency_id));
diesel::joinable!(case_grants -> cases (case_id));
diesel::joinable!(case_imports -> panels (panel_id));
diesel::joinable!(case_imports -> users (imported_by));
diesel::joinable!(case_links -> users (created_by));
diesel::joinable!(case_participants -> cases (case_id));
diesel::joinable!(case_participants -> people (person_id));
diesel::joinable!(case_reference_counters -> panels (panel_id));
diesel::joinable!(case_status_history -> cases (case_id));
diesel::joinable!(case_status_history -> users (changed_by));
diesel::joinable!(case_transfers -> panels (other_panel_id));
diesel::joinable!(case_transfers -> users (recorded_by));
diesel::joinable!(cases -> locations (location_id));
diesel::joinable!(cases -> panels (panel_id));
diesel::joinable!(community_triggers -> cases (case_id));
diesel::joinable!(community_triggers -> panels (panel_id));
diesel::joinable!(community_triggers -> users (created_by));
diesel::joinable!(data_quality_flags -> case_imports (import_id));
diesel::joinable!(data_quality_flags -> cases (case_id));
diesel::joinable!(data_quality_flags -> panels (panel_id));
diesel::joinable!(data_quality_flags -> users (resolved_by));
diesel::joinable!(discussion_notes -> agencies (agency_id));
diesel::joinable!(discussion_notes -> agenda_items (agenda_item_id));
diesel::joinable!(discussion_notes -> users (created_by));
diesel::joinable!(field_policy_version -> users (changed_by));
diesel::joinable!(idempotency_keys -> users (user_id));
diesel::joinable!(interventions -> agencies (agency_id));
diesel::joinable!(interventions -> cases (case_id));
diesel::joinable!(interventions -> panels (panel_id));
diesel::joinable!(interventions -> users (created_by));
diesel::joinable!(legal_holds -> cases (case_id));
diesel::joinable!(location_cases -> agencies (lead_agency_id));
diesel::joinable!(location_cases -> cases (case_id));
diesel::joinable!(location_cases -> users (updated_by));
diesel::joinable!(locations -> users (created_by));
diesel::joinable!(meetings -> panels (panel_id));
diesel::joinable!(minutes_versions -> meetings (meeting_id));
diesel::joinable!(minutes_versions -> users (created_by));
diesel::joinable!(panel_members -> agencies (agency_id));
diesel::joinable!(panel_members -> panels (panel_id));
diesel::joinable!(panel_retention -> panels (panel_id));
diesel::joinable!(panel_retention -> users (updated_by));
diesel::joinable!(panel_settings_versions -> panels (panel_id));
diesel::joinable!(people -> users (created_by));
diesel::joinable!(person_addresses -> agencies (supplied_by));
diesel::joinable!(person_addresses -> people (person_id));
diesel::joinable!(person_addresses -> users (recorded_by));
diesel::joinable!(person_dates_of_birth -> agencies (held_by));
diesel::joinable!(person_dates_of_birth -> people (person_id));
diesel::joinable!(person_dates_of_birth -> users (recorded_by));
diesel::joinable!(person_field_changes -> people (person_id));
diesel::joinable!(person_field_changes -> users (changed_by));
diesel::joinable!(rate_buckets -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(research_notes -> agencies (agency_id));
diesel::joinable!(research_notes -> cases (case_id));
diesel::joinable!(research_notes -> meetings (meeting_id));
diesel::joinable!(research_notes -> users (created_by));
diesel::joinable!(retention_policies -> users (updated_by));
diesel::joinable!(rights_requests -> cases (case_id));
diesel::joinable!(rights_requests -> panels (panel_id));
diesel::joinable!(rights_requests -> people (person_id));
diesel::joinable!(rights_requests -> users (created_by));
diesel::joinable!(risk_assessments -> agencies (agency_id));
diesel::joinable!(risk_assessments -> cases (case_id));
diesel::joinable!(risk_assessments -> users (created_by));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(share_decisions -> cases (case_id));
diesel::joinable!(share_decisions -> users (recorded_by));
diesel::joinable!(user_roles -> panels (panel_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(users -> agencies (agency_id));

diesel::allow_tables_to_appear_in_same_query!(
    action_updates,
    actions,
    agencies,
    agency_names,
    agenda_items,
    alerts,
    attendance,
    audit_chain_head,
    audit_events,
    audit_pending,
    audit_seals,
    case_closure_requests,
    case_exclusions,
    case_field_changes,
    case_grants,
    case_imports,
    case_links,
    case_participants,
    case_reference_counters,
    case_status_history,
    case_transfers,
    cases,
    community_triggers,
    data_quality_flags,
    discussion_notes,
    field_policy,
    field_policy_version,
    idempotency_keys,
    interventions,
    legal_holds,
    location_cases,
    locations,
    login_throttles,
    meetings,
    minutes_versions,
    panel_members,
    panel_retention,
    panel_settings_versions,
    panels,
    people,
    person_addresses,
    person_dates_of_birth,
    person_field_changes,
    rate_buckets,
    refresh_tokens,
    research_notes,
    retention_policies,
    rights_requests,
    risk_assessments,
    sessions,
    share_decisions,
    user_roles,
    users,
);
