//! Small charts as inline SVG, drawn here from plain numbers: a status timeline, stacked bars and
//! horizontal gauges. No script, no external asset; every text that comes from data is escaped
//! with [`esc`] (the templates insert the result unescaped).

use std::fmt::Write as _;

use jiff::Timestamp;

/// Escapes text for SVG/HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

/// A time as the axes show it (UTC): `HH:MM:SS` within 10 minutes, `HH:MM` within a day, else
/// `MM-DD HH:MM`.
pub fn axis_time(t: Timestamp, span_secs: i64) -> String {
    if span_secs <= 600 {
        t.strftime("%H:%M:%S").to_string()
    } else if span_secs <= 86_400 {
        t.strftime("%H:%M").to_string()
    } else {
        t.strftime("%m-%d %H:%M").to_string()
    }
}

/// The verdict of one check, as colored in the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// No check in that slot.
    Unknown,
    Ok,
    Warn,
    Bad,
}

impl Level {
    fn color(self) -> &'static str {
        match self {
            Level::Unknown => "#c8ccd2",
            Level::Ok => "#2e9e5b",
            Level::Warn => "#e0a526",
            Level::Bad => "#d64545",
        }
    }

    /// From a check's status text.
    pub fn of(status: &str) -> Level {
        match status {
            "operational" | "ok" | "passed" | "success" => Level::Ok,
            "degraded" | "warning" | "partial" => Level::Warn,
            "down" | "failed" | "error" | "critical" => Level::Bad,
            _ => Level::Unknown,
        }
    }
}

/// One check on a timeline row.
#[derive(Debug, Clone)]
pub struct Mark {
    pub at: Timestamp,
    pub level: Level,
    /// Tooltip text (escaped here).
    pub note: String,
}

/// One row of the timeline: a label and its checks in any order.
#[derive(Debug, Clone)]
pub struct Row {
    pub label: String,
    pub marks: Vec<Mark>,
}

/// Drawing widths (viewBox units ≈ CSS pixels at the usual sizes): a full-width card, and a
/// half-width one.
pub const WIDE: f64 = 1000.0;
pub const HALF: f64 = 560.0;
const LABEL_W: f64 = 70.0;
const COLUMNS: usize = 120;

/// A status timeline: one row per service, the window cut into columns colored by the worst
/// check in each (gray where none ran).
pub fn timeline(rows: &[Row], start: Timestamp, end: Timestamp) -> String {
    let span = (end.as_second() - start.as_second()).max(1);
    let row_h = 24.0;
    let top = 6.0;
    let height = top + rows.len().max(1) as f64 * row_h + 22.0;
    let plot_w = WIDE - LABEL_W - 10.0;
    let col_w = plot_w / COLUMNS as f64;
    let mut s = open("health", "Health by service over time", WIDE, height);
    for (i, row) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let _ = write!(
            s,
            r#"<text class="lbl" x="0" y="{:.1}">{}</text>"#,
            y + 15.0,
            esc(&row.label)
        );
        let mut cols: Vec<Option<&Mark>> = vec![None; COLUMNS];
        for m in &row.marks {
            let off = m.at.as_second() - start.as_second();
            if !(0..=span).contains(&off) {
                continue;
            }
            let c = ((off as f64 / span as f64) * COLUMNS as f64) as usize;
            let c = c.min(COLUMNS - 1);
            if cols[c]
                .is_none_or(|cur| m.level > cur.level || (m.level == cur.level && m.at > cur.at))
            {
                cols[c] = Some(m);
            }
        }
        // Background: no check ran.
        let _ = write!(
            s,
            r#"<rect class="empty" x="{LABEL_W:.1}" y="{:.1}" width="{plot_w:.1}" height="{:.1}" fill="{}" rx="2"/>"#,
            y + 3.0,
            row_h - 8.0,
            Level::Unknown.color()
        );
        for (c, m) in cols.iter().enumerate() {
            let Some(m) = m else { continue };
            let _ = write!(
                s,
                r#"<rect class="mark" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}</title></rect>"#,
                LABEL_W + c as f64 * col_w,
                y + 3.0,
                col_w.max(1.0),
                row_h - 8.0,
                m.level.color(),
                esc(&m.note)
            );
        }
    }
    time_axis(&mut s, start, end, height - 6.0, LABEL_W, plot_w);
    s.push_str("</svg>");
    s
}

/// One series of a stacked bar chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
}

/// Stacked bars over time, `width` wide: `values[bucket][series]`, buckets evenly spaced from
/// `start` to `end`.
pub fn stacked_bars(
    width: f64,
    id: &str,
    title: &str,
    series: &[Series],
    values: &[Vec<u64>],
    start: Timestamp,
    end: Timestamp,
) -> String {
    let height = 190.0;
    let (top, bottom) = (12.0, 22.0);
    let left = 44.0;
    let plot_w = width - left - 10.0;
    let plot_h = height - top - bottom;
    let max = values
        .iter()
        .map(|b| b.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let n = values.len().max(1);
    let slot = plot_w / n as f64;
    let bar_w = (slot * 0.8).clamp(1.0, 48.0);
    let mut s = open(id, title, width, height);
    y_grid(&mut s, (left, top), (plot_w, plot_h), |frac| {
        ((max as f64 * frac).round() as u64).to_string()
    });
    let span = (end.as_second() - start.as_second()).max(1);
    for (i, bucket) in values.iter().enumerate() {
        let x = left + i as f64 * slot + (slot - bar_w) / 2.0;
        let mut y = top + plot_h;
        let from = start.as_second() + span * i as i64 / n as i64;
        let when =
            Timestamp::from_second(from).map_or_else(|_| String::new(), |t| axis_time(t, span));
        for (k, v) in bucket.iter().enumerate() {
            if *v == 0 {
                continue;
            }
            let h = plot_h * (*v as f64) / max as f64;
            y -= h;
            let name = series.get(k).map_or("", |s| s.name.as_str());
            let color = series.get(k).map_or("#888", |s| s.color);
            let _ = write!(
                s,
                r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{bar_w:.1}" height="{h:.1}" fill="{color}"><title>{}: {v} ({})</title></rect>"#,
                esc(&when),
                esc(name)
            );
        }
    }
    time_axis(&mut s, start, end, height - 6.0, left, plot_w);
    s.push_str("</svg>");
    s
}

/// A horizontal gauge per item: `ratio` in 0..=1, red under 10 %, amber under 25 %.
pub fn gauges(id: &str, title: &str, items: &[(String, f64)]) -> String {
    let row_h = 26.0;
    let height = items.len().max(1) as f64 * row_h + 8.0;
    let left = 170.0;
    let plot_w = HALF - left - 50.0;
    let mut s = open(id, title, HALF, height);
    for (i, (label, ratio)) in items.iter().enumerate() {
        let r = ratio.clamp(0.0, 1.0);
        let y = 4.0 + i as f64 * row_h;
        let color = if r < 0.10 {
            Level::Bad.color()
        } else if r < 0.25 {
            Level::Warn.color()
        } else {
            Level::Ok.color()
        };
        let _ = write!(
            s,
            r##"<text class="lbl" x="0" y="{:.1}">{}</text><rect x="{left:.1}" y="{:.1}" width="{plot_w:.1}" height="14" fill="#e3e6ea" rx="3"/><rect class="bar" x="{left:.1}" y="{:.1}" width="{:.1}" height="14" fill="{color}" rx="3"><title>{} {:.1}%</title></rect><text class="val" x="{:.1}" y="{:.1}">{:.0}%</text>"##,
            y + 12.0,
            esc(label),
            y + 1.0,
            y + 1.0,
            (plot_w * r).max(1.0),
            esc(label),
            r * 100.0,
            left + plot_w + 8.0,
            y + 12.0,
            r * 100.0
        );
    }
    s.push_str("</svg>");
    s
}

/// One line of a [`daily_lines`] chart: a name, its color, and a value per day.
#[derive(Debug, Clone)]
pub struct Line {
    pub name: String,
    pub color: &'static str,
    pub values: Vec<f64>,
}

/// Lines over days, full width: `days` label the x axis (evenly spaced), every line has one
/// value per day, `unit` follows each value in the tooltips and the y scale.
pub fn daily_lines(id: &str, title: &str, days: &[String], lines: &[Line], unit: &str) -> String {
    let height = 200.0;
    let (top, bottom, left) = (12.0, 22.0, 70.0);
    let plot_w = WIDE - left - 14.0;
    let plot_h = height - top - bottom;
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let n = days.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| top + plot_h * (1.0 - (v.max(0.0) / max).min(1.0));
    let mut s = open(id, title, WIDE, height);
    y_grid(&mut s, (left, top), (plot_w, plot_h), |frac| {
        format!("{:.2} {}", max * frac, esc(unit))
    });
    for line in lines {
        let points: Vec<String> = line
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline class="line" fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
            line.color,
            points.join(" ")
        );
        for (i, v) in line.values.iter().enumerate() {
            let day = days.get(i).map_or("", String::as_str);
            let _ = write!(
                s,
                r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="2.5" fill="{}"><title>{} {}: {v:.2} {}</title></circle>"#,
                x(i),
                y(*v),
                line.color,
                esc(&line.name),
                esc(day),
                esc(unit)
            );
        }
    }
    for (i, anchor) in [(0, "start"), (n / 2, "middle"), (n - 1, "end")] {
        let Some(day) = days.get(i) else { continue };
        let _ = write!(
            s,
            r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
            x(i),
            height - 6.0,
            esc(day)
        );
    }
    s.push_str("</svg>");
    s
}

/// Gridlines at the bottom, middle and top of the plot whose top-left corner is `(left, top)`
/// and size `(width, height)`, each with its y-scale label: `label` of the fraction of the
/// scale (0, 0.5, 1), already escaped.
fn y_grid(
    s: &mut String,
    (left, top): (f64, f64),
    (width, height): (f64, f64),
    label: impl Fn(f64) -> String,
) {
    for frac in [0.0, 0.5, 1.0] {
        let y = top + height * (1.0 - frac);
        let _ = write!(
            s,
            r##"<line x1="{left:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#e3e6ea"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            left + width,
            left - 6.0,
            y + 4.0,
            label(frac)
        );
    }
}

fn open(id: &str, title: &str, width: f64, height: f64) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{}" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-label="{}"><title>{}</title>"#,
        esc(id),
        esc(title),
        esc(title)
    )
}

fn time_axis(s: &mut String, start: Timestamp, end: Timestamp, y: f64, left: f64, plot_w: f64) {
    let span = end.as_second() - start.as_second();
    for (frac, anchor) in [(0.0, "start"), (0.5, "middle"), (1.0, "end")] {
        let at = start.as_second() + (span as f64 * frac) as i64;
        let Ok(t) = Timestamp::from_second(at) else {
            continue;
        };
        let _ = write!(
            s,
            r#"<text class="axis" x="{:.1}" y="{y:.1}" text-anchor="{anchor}">{}</text>"#,
            left + plot_w * frac,
            esc(&axis_time(t, span))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn text_from_data_is_escaped() {
        let rows = vec![Row {
            label: "<script>alert(1)</script>".into(),
            marks: vec![Mark {
                at: ts("2026-11-25T10:30:00Z"),
                level: Level::Bad,
                note: "\"><img src=x onerror=alert(1)>".into(),
            }],
        }];
        let svg = timeline(
            &rows,
            ts("2026-11-25T10:00:00Z"),
            ts("2026-11-25T11:00:00Z"),
        );
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(!svg.contains("<img"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert_eq!(svg.matches("class=\"mark\"").count(), 1);
    }

    #[test]
    fn timeline_keeps_the_worst_check_per_column() {
        let start = ts("2026-11-25T10:00:00Z");
        let marks = (0..600)
            .map(|i| Mark {
                at: Timestamp::from_second(start.as_second() + i * 6).expect("t"),
                level: if i == 300 { Level::Bad } else { Level::Ok },
                note: String::new(),
            })
            .collect();
        let svg = timeline(
            &[Row {
                label: "twilio".into(),
                marks,
            }],
            start,
            ts("2026-11-25T11:00:00Z"),
        );
        assert_eq!(svg.matches("class=\"mark\"").count(), COLUMNS);
        assert_eq!(svg.matches(Level::Bad.color()).count(), 1);
    }

    #[test]
    fn bars_stack_and_skip_zeros() {
        let series = vec![
            Series {
                name: "auth".into(),
                color: "#f00",
            },
            Series {
                name: "config".into(),
                color: "#0f0",
            },
        ];
        let svg = stacked_bars(
            WIDE,
            "errors",
            "Errors",
            &series,
            &[vec![1, 0], vec![2, 3], vec![0, 0]],
            ts("2026-11-25T10:00:00Z"),
            ts("2026-11-25T13:00:00Z"),
        );
        assert_eq!(svg.matches("class=\"bar\"").count(), 3);
        assert!(
            svg.contains(">5</text>"),
            "the y scale tops at the tallest stack"
        );
    }

    #[test]
    fn lines_draw_a_point_per_day_and_escape_names() {
        let days: Vec<String> = ["2026-03-01", "2026-03-02", "2026-03-03"]
            .iter()
            .map(|d| (*d).to_owned())
            .collect();
        let svg = daily_lines(
            "usage",
            "Spend",
            &days,
            &[
                Line {
                    name: "<b>twilio</b>".into(),
                    color: "#f00",
                    values: vec![1.0, 4.0, 2.0],
                },
                Line {
                    name: "stripe".into(),
                    color: "#00f",
                    values: vec![0.0, 0.5, f64::NAN],
                },
            ],
            "USD",
        );
        assert_eq!(svg.matches("class=\"line\"").count(), 2);
        assert_eq!(svg.matches("class=\"point\"").count(), 6);
        assert!(
            svg.contains("4.00 USD</text>"),
            "the scale tops at the highest day"
        );
        assert!(
            svg.contains("&lt;b&gt;twilio") && !svg.contains("<b>"),
            "{svg}"
        );
        assert!(svg.contains(">2026-03-01</text>") && svg.contains(">2026-03-03</text>"));
        assert!(
            !svg.contains("cy=\"NaN"),
            "an unknown value is drawn at zero: {svg}"
        );
    }

    #[test]
    fn gauges_clamp() {
        let svg = gauges("h", "Headroom", &[("openai requests".into(), 1.7)]);
        assert!(svg.contains(">100%</text>"));
        let svg = gauges("h", "Headroom", &[("x".into(), 0.05)]);
        assert!(svg.contains(Level::Bad.color()));
    }
}
