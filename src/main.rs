use clap::Parser;

#[tokio::main]
async fn main() {
    tenantry::telemetry::init();
    let cli = tenantry::cli::Cli::parse();
    if let Err(e) = tenantry::cli::run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
