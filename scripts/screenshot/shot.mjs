// Regenerate docs/chat-page.png:  cd scripts/screenshot && npm install && node shot.mjs
// (needs Go, and Chromium at /usr/bin/chromium or $CHROMIUM, with fonts-noto-cjk and fonts-noto-color-emoji —
// without the latter the bot's ✅ shows as a box; playwright-core never downloads a browser here)
//
// It starts the real bot in local mode (`go run ./cmd/huanjie`) on a free loopback port with a
// fresh data file in a temporary directory, waits for /healthz, then drives the chat page like
// a user: picks the persona in 「我是：」, types into the input and presses Enter, waiting for each
// answer. The browser's clock is set to the bot's demo clock (config/default.yaml demo_clock) so
// the page's timestamps agree with the bot's "已逾期 N 天". Finally it grows the viewport until the
// whole conversation fits, writes docs/chat-page.png and stops the bot.
//
// Options (environment): CHROMIUM=/path/to/chromium  SCALE=2  WIDTH=420  OUT=docs/chat-page.png
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const out = resolve(repo, process.env.OUT || 'docs/chat-page.png');
const width = Number(process.env.WIDTH || 420);
const scale = Number(process.env.SCALE || 2);
const maxHeight = 1800; // CSS px; beyond this the chat scrolls and the top is cut off
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

const CHAT = '城西街道计生协换届工作群';
const script = [
  ['cuihong', '会员 300 人口 6200'], // below 5%: the bot flags it
  ['cuihong', '会员 320 人口 6200'], // corrected: accepted
  ['cuihong', '公示 7月6日'],
  ['quxin', '哪些社区还没报 会员'],
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function waitHealthy(base, bot, timeoutMs = 180_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (bot.exitCode !== null) throw new Error(`the bot exited early (code ${bot.exitCode})`);
    try {
      const r = await fetch(base + '/healthz');
      if (r.ok && (await r.text()).trim() === 'ok') return;
    } catch { /* not up yet (go run may still be compiling) */ }
    await sleep(300);
  }
  throw new Error('the bot did not become healthy in time');
}

function demoClock() {
  const m = /^demo_clock:\s*(\S+)/m.exec(readFileSync(join(repo, 'config/default.yaml'), 'utf8'));
  const t = m ? Date.parse(m[1]) : NaN;
  return Number.isNaN(t) ? null : t;
}

const tmp = mkdtempSync(join(tmpdir(), 'huanjie-shot-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const bot = spawn('go', ['run', './cmd/huanjie', '-addr', `127.0.0.1:${port}`, '-data', join(tmp, 'data.json')], {
  cwd: repo,
  detached: true, // own process group, so stopping it also stops the binary `go run` started
  stdio: ['ignore', 'ignore', 'pipe'],
});
let botLog = '';
bot.stderr.on('data', (d) => { botLog += d; });

// stopBot stops `go run` and the bot it started, and waits until the whole process group is
// gone (the bot saves its data file on the way out).
async function stopBot() {
  const alive = () => { try { process.kill(-bot.pid, 0); return true; } catch { return false; } };
  try { process.kill(-bot.pid, 'SIGTERM'); } catch { return; }
  for (let i = 0; i < 50 && alive(); i++) await sleep(100);
  if (alive()) try { process.kill(-bot.pid, 'SIGKILL'); } catch { /* gone */ }
}

let context;
try {
  await waitHealthy(base, bot);
  const botStarted = Date.now();

  context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars'],
    viewport: { width, height: 860 },
    deviceScaleFactor: scale,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  });
  const page = context.pages()[0] || (await context.newPage());
  const demo = demoClock();
  if (demo !== null) await page.clock.install({ time: demo + (Date.now() - botStarted) });

  await page.goto(base + '/');
  await page.locator('#chat').selectOption({ label: CHAT });
  const chatid = await page.locator('#chat').inputValue();

  const answers = () => page.evaluate((k) => {
    const all = JSON.parse(localStorage.getItem('huanjie-standin-v1') || '{}')[k] || [];
    return all.filter((e) => e.kind !== 'user').length;
  }, chatid);

  for (const [who, text] of script) {
    if ((await page.locator('#me').inputValue()) !== who) {
      await page.locator('#me').selectOption(who);
      await sleep(400);
    }
    const before = await answers();
    await page.locator('#input').click();
    await page.locator('#input').pressSequentially(text, { delay: 40 });
    await sleep(250);
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      ([k, n]) => {
        const all = JSON.parse(localStorage.getItem('huanjie-standin-v1') || '{}')[k] || [];
        return all.filter((e) => e.kind !== 'user').length > n && !document.querySelector('#log .typing');
      },
      [chatid, before],
      { timeout: 15_000 },
    );
    await sleep(700);
  }

  // Fit the whole conversation: grow the viewport by what the message list hides.
  const hidden = await page.evaluate(() => {
    const log = document.getElementById('log');
    return log.scrollHeight - log.clientHeight;
  });
  const height = Math.min(860 + Math.max(0, hidden), maxHeight);
  await page.setViewportSize({ width, height });
  await page.evaluate(() => { const log = document.getElementById('log'); log.scrollTop = log.scrollHeight; });
  await page.locator('#input').blur();
  await sleep(400);

  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out, animations: 'disabled' });
  const kb = Math.round(statSync(out).size / 1024);
  console.log(`wrote ${out} (${width}x${height} CSS px at ${scale}x, ${kb} KB)`);
  if (kb >= 400) console.warn('warning: over 400 KB; try SCALE=1.5');
} catch (err) {
  console.error('shot failed:', err);
  if (botLog) console.error('--- bot log ---\n' + botLog.slice(-4000));
  process.exitCode = 1;
} finally {
  if (context) await context.close().catch(() => {});
  await stopBot();
  rmSync(tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}
