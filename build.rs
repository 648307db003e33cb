// Migrations are embedded at compile time (`diesel_migrations::embed_migrations!`):
// rebuild when one is added or changed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
