DROP TABLE rule_locks;
DROP TABLE rule_set_versions;
DROP TABLE credential_stuffing;
DROP TABLE rules;
DROP TABLE rule_sets;
DROP TABLE domains;
DROP TABLE applications;
