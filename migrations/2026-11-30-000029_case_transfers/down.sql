DROP TABLE case_transfers;
