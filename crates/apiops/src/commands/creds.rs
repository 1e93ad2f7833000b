//! `apiops creds`: the credentials report of `apiops_config::creds` (which credentials are set,
//! values masked, where each came from, what is missing), printed as a table and a summary per
//! service. Informational, so it exits 0 whatever it finds.

use std::io::{self, Write};

use anyhow::Context as _;
use apiops_config::LoadedConfig;
pub(crate) use apiops_config::creds::CredsReport;

use crate::exit::Exit;
use crate::output::{self, Format, Render};

/// Prints the credentials report.
pub(crate) fn run(loaded: &LoadedConfig, format: Format) -> anyhow::Result<Exit> {
    let report = CredsReport::build(loaded);
    output::emit(format, &report).context("writing the credentials report")?;
    Ok(Exit::Ok)
}

const HEADER: [&str; 6] = ["Service", "Variable", "Status", "Value", "Source", "Note"];

impl Render for CredsReport {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "{}",
            output::human_table(&HEADER, &self.cells()).trim_fmt()
        )?;
        writeln!(out)?;
        for svc in &self.services {
            let style = if svc.ready { output::GOOD } else { output::BAD };
            writeln!(
                out,
                "{}: {style}{}{style:#}",
                svc.service.display_name(),
                svc.summary
            )?;
        }
        for svc in &self.services {
            for w in &svc.warnings {
                let style = output::WARNING;
                writeln!(
                    out,
                    "{style}warning:{style:#} {}: {w}",
                    svc.service.display_name()
                )?;
            }
        }
        Ok(())
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        write!(out, "{}", output::markdown_table(&HEADER, &self.cells()))?;
        writeln!(out)?;
        for svc in &self.services {
            writeln!(out, "- **{}**: {}", svc.service.display_name(), svc.summary)?;
            for w in &svc.warnings {
                writeln!(out, "  - warning: {w}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(vars: &[(&str, &str)]) -> CredsReport {
        CredsReport::build(&apiops_config::test_loaded(vars))
    }

    #[test]
    fn rendered_output_never_holds_a_secret() {
        let canary = "canary_tw_0123456789abcdef";
        let r = report(&[
            ("TWILIO_AUTH_TOKEN", canary),
            ("STRIPE_SECRET_KEY", "sk_test_canary_0123456789"),
        ]);
        for format in [Format::Human, Format::Md, Format::Json] {
            let mut out = Vec::new();
            output::write_to(&mut out, format, &r).expect("render");
            let text = String::from_utf8(out).expect("utf-8");
            assert!(text.contains("cana...cdef"), "{format:?}: {text}");
            assert!(!text.contains(canary), "{format:?}: {text}");
            assert!(!text.contains("canary_0123"), "{format:?}: {text}");
            assert!(
                text.contains("env TWILIO_AUTH_TOKEN") || format == Format::Json,
                "{text}"
            );
        }
    }
}
