DROP INDEX tenants_subdomain_trgm;
