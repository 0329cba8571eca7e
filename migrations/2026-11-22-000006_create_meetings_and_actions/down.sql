DROP TABLE action_updates;
DROP TABLE actions;
DROP TABLE minutes_versions;
DROP TABLE discussion_notes;
DROP TABLE attendance;
DROP TABLE agenda_items;
DROP TABLE meetings;
