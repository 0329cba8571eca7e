-- Panel metrics count a panel's referrals by referral date and its closures by closure date;
-- without these, every statement read all the cases the panel ever had (bench/: 4,000 rows per
-- panel-year at 1.2 million cases) to keep the year's 400.
CREATE INDEX cases_panel_referral_idx ON cases (panel_id, referral_date);
CREATE INDEX cases_panel_closed_idx ON cases (panel_id, closed_on) WHERE closed_on IS NOT NULL;
