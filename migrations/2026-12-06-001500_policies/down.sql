DROP INDEX subnets_policy;
DROP INDEX resolvers_policy;
ALTER TABLE subnets DROP CONSTRAINT subnets_policy_id_fkey;
ALTER TABLE resolvers DROP CONSTRAINT resolvers_policy_id_fkey;
DROP TABLE policies;
