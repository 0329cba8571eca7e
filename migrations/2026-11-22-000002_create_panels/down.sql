DROP TABLE panel_settings_versions;
DROP TABLE panel_members;
DROP TABLE panels;
