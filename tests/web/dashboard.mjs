// Opens the control dashboard in headless Chromium and checks that a job, its replicas, its log
// and a metric curve appear; with TRAIN_JOB, also that distributed training job's loss and AUC
// curves (one loss line per worker, worker-0's valid_auc) and its screenshot.
// Usage: node dashboard.mjs URL JOB SCREENSHOT.png [TRAIN_JOB TRAIN_SCREENSHOT.png]
// The browser is Debian's chromium ($CHROMIUM overrides the path); nothing is downloaded.
import { chromium } from "playwright-core";

const [url, job, screenshot, trainJob, trainScreenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
let ok = false;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  // The job list shows the job with its final state.
  const row = page.locator(`#jobs tr[data-job="${job}"]`);
  await row.locator(".state-Succeeded").waitFor({ timeout: 30000 });
  console.log(`ok: job list shows ${job} Succeeded`);
  await row.locator("a").click();
  // The job page: replicas, a loss curve with one line per worker, and the log.
  await page.locator("#replicas tr[data-replica='worker-1']").waitFor({ timeout: 10000 });
  const lines = page.locator('svg.chart[data-series="loss"] polyline');
  await lines.first().waitFor({ timeout: 10000 });
  const count = await lines.count();
  const points = await lines.first().getAttribute("data-points");
  if (count !== 2 || points !== "3") throw new Error(`loss chart: ${count} lines, ${points} points`);
  console.log(`ok: loss chart with ${count} lines of ${points} points`);
  await page.locator("#log").filter({ hasText: "training step 3" }).waitFor({ timeout: 10000 });
  console.log("ok: worker-0 log shown");
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);
  if (trainJob) {
    await page.goto(`${url}#/jobs/${trainJob}`);
    await page.locator("#replicas tr[data-replica='ps-1']").waitFor({ timeout: 30000 });
    const loss = page.locator('svg.chart[data-series="loss"] polyline');
    const auc = page.locator('svg.chart[data-series="valid_auc"] polyline');
    await auc.first().waitFor({ timeout: 30000 });
    const lossLines = await loss.count();
    const aucPoints = Number(await auc.first().getAttribute("data-points"));
    if (lossLines !== 2 || (await auc.count()) !== 1 || aucPoints < 5) {
      throw new Error(`${trainJob}: ${lossLines} loss lines, valid_auc with ${aucPoints} points`);
    }
    console.log(`ok: ${trainJob} shows ${lossLines} loss lines and a valid_auc curve of ${aucPoints} points`);
    await page.screenshot({ path: trainScreenshot, fullPage: true });
    console.log(`screenshot: ${trainScreenshot}`);
  }
  if (errors.length) throw new Error("page errors: " + errors.join("; "));
  ok = true;
} catch (e) {
  console.error("FAIL: " + e.message);
} finally {
  await browser.close();
}
process.exit(ok ? 0 : 1);
