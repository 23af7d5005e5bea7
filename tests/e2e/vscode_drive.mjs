// Drives code-server (a real VS Code) in headless Chromium, as a person would: open a file,
// type, wait for fimble's ghost text, screenshot, Tab, save. Run by test_editor_vscode_real.py.
// Usage: node vscode_drive.mjs URL FILE_NAME SCREENSHOT_DIR  (playwright-core on NODE_PATH)
import { createRequire } from "node:module";

const { chromium } = createRequire(process.env.FIMBLE_PLAYWRIGHT_DIR + "/")("playwright-core");

const [url, fileName, shots] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.FIMBLE_CHROMIUM || "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 1100, height: 600 } });
const step = (msg) => console.log(`[drive] ${msg}`);
try {
  await page.goto(url);
  await page.waitForSelector(".monaco-workbench", { timeout: 180000 });
  step("workbench up");
  await page.waitForTimeout(3000);
  await page.locator(".explorer-folders-view").getByText(fileName, { exact: true }).click();
  await page.waitForTimeout(1000);
  await page.waitForSelector(".monaco-editor .view-lines", { timeout: 60000 });
  step("file open");
  await page.click(".monaco-editor .view-lines");
  await page.keyboard.press("Control+End");
  // Wait for the extension's status bar item: ready means the model is loaded.
  // The extension's status bar item: "$(sparkle) fimble" once the model is loaded
  // ("$(loading~spin) fimble" before, "$(error) fimble" on failure).
  await page.waitForFunction(() => [...document.querySelectorAll(".statusbar-item")].some(
    (e) => (e.textContent || "").includes("fimble") && e.querySelector(".codicon-sparkle")),
    null, { timeout: 300000 });
  step("status bar says fimble is ready");
  // The Chat view can take the focus while the model loads: back to the end of the file.
  await page.click(".monaco-editor .view-lines");
  await page.keyboard.press("Control+End");
  await page.screenshot({ path: `${shots}/vscode-status.png` });
  await page.keyboard.type(" ");
  await page.waitForSelector(".ghost-text-decoration, .ghost-text", { timeout: 300000 });
  const ghost = await page.$$eval(".ghost-text-decoration, .ghost-text", (els) => els.map((e) => e.textContent).join(""));
  step(`ghost text: ${JSON.stringify(ghost)}`);
  await page.screenshot({ path: `${shots}/vscode-ghost-text.png` });
  await page.keyboard.press("Tab");
  await page.waitForTimeout(500);
  await page.keyboard.press("Control+S");
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `${shots}/vscode-accepted.png` });
  step("saved");
} catch (error) {
  await page.screenshot({ path: `${shots}/vscode-failure.png` }).catch(() => {});
  console.error(`[drive] failed: ${error}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
