DROP INDEX cases_panel_closed_idx;
DROP INDEX cases_panel_referral_idx;
