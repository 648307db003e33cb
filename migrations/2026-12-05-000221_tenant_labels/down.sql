DROP INDEX tenants_disabled;
DROP TABLE tenant_labels;
