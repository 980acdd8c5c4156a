//! The report.

use super::*;

pub(super) fn print_report(args: &TaxiiArgs, rows: &[Row]) {
    let backend = match args.backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let pages = args.pages.map_or("the whole collection".to_owned(), |p| {
        format!("at most {p} pages")
    });
    println!(
        "\n### TAXII objects, {backend}: {} clients each paging {pages}, limit={}, seed {}; medallion 3.0.0 \
         (memory backend, gunicorn 1 worker × {} threads), {} s per size\n",
        args.clients, args.limit, args.seed, args.clients, args.medallion_timeout
    );
    println!(
        "| objects | our load s (cumulative) | our objects/s | our p50 ms | our p99 ms | our first page ms (max) \
         | medallion load s | medallion objects/s | medallion p50 ms | medallion p99 ms | medallion first page ms \
         (max) | medallion peak RSS MiB | ratio objects/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let ours = format!(
            "{} | {:.1} | {:.0} | {:.1} | {:.1} | {:.1}",
            r.size,
            r.load_seconds,
            r.ours.per_second(),
            ms(r.ours.p50),
            ms(r.ours.p99),
            ms(r.ours.first_max)
        );
        let theirs = match &r.medallion {
            Medallion::Skipped(why) => format!("not run: {why} | | | | | | "),
            Medallion::Failed(e) => format!("failed: {} | | | | | | ", e.replace('|', "/")),
            Medallion::Measured {
                load_seconds,
                pass,
                peak_rss_kib,
                data_bytes,
            } => {
                // A pass that ran out of time has no rate to compare with: its objects/s is what it served
                // before the deadline, so the column says so and the ratio is left out.
                let (rate, ratio) = if pass.timed_out {
                    (
                        format!(
                            "timed out after {} s ({} objects in {} pages)",
                            args.medallion_timeout, pass.objects, pass.pages
                        ),
                        "—".to_owned(),
                    )
                } else {
                    (
                        format!("{:.0}", pass.per_second()),
                        format!(
                            "{:.0}×",
                            r.ours.per_second() / pass.per_second().max(f64::EPSILON)
                        ),
                    )
                };
                format!(
                    "{load_seconds:.1} ({:.0} MiB file) | {rate} | {:.1} | {:.1} | {:.1} | {:.0} | {ratio}",
                    *data_bytes as f64 / 1_048_576.0,
                    ms(pass.p50),
                    ms(pass.p99),
                    ms(pass.first_max),
                    *peak_rss_kib as f64 / 1024.0,
                )
            }
        };
        println!("| {ours} | {theirs} |");
    }
}
