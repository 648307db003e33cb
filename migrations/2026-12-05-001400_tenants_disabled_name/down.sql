DROP INDEX tenants_disabled_name;
