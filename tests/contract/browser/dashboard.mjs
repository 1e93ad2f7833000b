// Opens the apiops dashboard in a real headless browser (Debian's chromium, driven by
// playwright-core) and checks what a person would see: every page loads without a console
// error, a failed request or a page error; the charts are SVG with drawn data and labels; then
// it saves a full-page screenshot of the overview.
//
// Usage: node dashboard.mjs <base-url> <screenshot.png>   (base URL may carry ?token=...)
// Needs playwright-core in .tools/node_modules (scripts/contract.sh installs it) and
// /usr/bin/chromium (or $CHROMIUM). Prints one JSON report on stdout; exits 1 on any failure.

import { createRequire } from "node:module";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..", "..");
const require = createRequire(join(root, ".tools", "package.json"));
const { chromium } = require("playwright-core");

const [base, shot] = process.argv.slice(2);
if (!base || !shot) {
  console.error("usage: node dashboard.mjs <base-url> <screenshot.png>");
  process.exit(2);
}
const start = new URL(base);
const token = start.searchParams.get("token");
const origin = start.origin;

const profile = mkdtempSync(join(tmpdir(), "apiops-chromium-"));
const failures = [];
const report = { pages: {}, console_errors: [], screenshot: resolve(shot) };

// A new, empty profile (--user-data-dir) for every run: Playwright passes it itself.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 1360, height: 900 },
  timeout: 60_000,
});

try {
  const page = await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() === "error") report.console_errors.push(msg.text());
  });
  page.on("pageerror", (err) => report.console_errors.push(`page error: ${err.message}`));
  page.on("requestfailed", (req) =>
    report.console_errors.push(`request failed: ${req.url()} ${req.failure()?.errorText}`),
  );
  page.on("response", (resp) => {
    if (resp.status() >= 400) report.console_errors.push(`HTTP ${resp.status()} ${resp.url()}`);
  });
  // Nothing may be loaded from anywhere else: the dashboard works offline.
  page.on("request", (req) => {
    const u = new URL(req.url());
    if (u.protocol !== "data:" && u.origin !== origin) failures.push(`external request: ${req.url()}`);
  });

  // The token once in the query: the server sets a cookie and redirects to a clean URL.
  const first = token ? `${origin}/?token=${encodeURIComponent(token)}` : `${origin}/`;
  const resp = await page.goto(first, { waitUntil: "load" });
  if (!resp || resp.status() !== 200) failures.push(`overview answered ${resp?.status()}`);
  if (page.url().includes("token=")) failures.push("the token stayed in the address bar");

  const count = (sel) => page.locator(sel).count();
  const overview = {
    title: await page.title(),
    health_marks: await count('svg[data-chart="health"] rect.mark'),
    error_bars: await count('svg[data-chart="errors"] rect.bar'),
    headroom_bars: await count('svg[data-chart="headroom"] rect.bar'),
    traffic_bars: await count('svg[data-chart="traffic"] rect.bar'),
    health_labels: await page.locator('svg[data-chart="health"] text.lbl').allTextContents(),
    axis_labels: await count('svg[data-chart="errors"] text.axis'),
    code_rows: await count("#codes table tr"),
    alert_rows: await count("#alerts table tr"),
    operation_rows: await count("#operations table tr"),
    webhook_rows: await count("#webhooks table tr"),
  };
  report.pages["/"] = overview;
  const need = (ok, what) => {
    if (!ok) failures.push(what);
  };
  need(overview.health_marks > 0, "the health timeline has no marks");
  need(overview.health_labels.length > 0, "the health timeline has no service labels");
  need(overview.error_bars > 0, "the errors chart has no bars");
  need(overview.axis_labels > 0, "the errors chart has no axis labels");
  need(overview.headroom_bars > 0, "the headroom chart has no bars");
  need(overview.traffic_bars > 0, "the webhook traffic chart has no bars");
  need(overview.code_rows > 1, "no error code with its fix");
  need(overview.operation_rows > 1, "no recent operation");
  need(overview.webhook_rows > 1, "no webhook counts");
  // Each chart is drawn at a visible size.
  for (const id of ["health", "errors", "headroom", "traffic"]) {
    const chart = page.locator(`svg[data-chart="${id}"]`);
    const box = (await chart.count()) ? await chart.boundingBox({ timeout: 5_000 }) : null;
    need(box && box.width > 200 && box.height > 12, `the ${id} chart is not visible`);
  }
  mkdirSync(dirname(resolve(shot)), { recursive: true });
  await page.screenshot({ path: resolve(shot), fullPage: true });

  for (const path of ["/errors", "/alerts"]) {
    const r = await page.goto(`${origin}${path}`, { waitUntil: "load" });
    const info = { status: r?.status(), title: await page.title() };
    if (path === "/errors") {
      info.error_bars = await count('svg[data-chart="errors"] rect.bar');
      info.event_rows = await count("#recent table tr");
      need(info.error_bars > 0, "/errors has no chart bars");
      need(info.event_rows > 1, "/errors lists no event");
    } else {
      info.alert_rows = await count("#alerts table tr");
      info.check_rows = await count("#checks table tr");
      need(info.check_rows > 1, "/alerts lists no check run");
    }
    need(info.status === 200, `${path} answered ${info.status}`);
    // Beside the overview's screenshot: dashboard-errors.png, dashboard-alerts.png.
    info.screenshot = resolve(shot).replace(/\.png$/, `-${path.slice(1)}.png`);
    await page.screenshot({ path: info.screenshot, fullPage: true });
    report.pages[path] = info;
  }
} catch (e) {
  failures.push(`browser run failed: ${e.stack || e}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

for (const e of report.console_errors) failures.push(`console: ${e}`);
report.failures = failures;
console.log(JSON.stringify(report, null, 2));
process.exit(failures.length ? 1 : 0);
