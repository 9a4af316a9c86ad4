// Logs in through Swagger UI's "Authorize" dialog (OAuth2 password flow) in
// headless Chromium and calls one operation before and after, printing the
// two HTTP statuses as JSON: {"before": 401, "after": 200}.
//
// usage: node swagger_login.mjs DOCS_URL USERNAME PASSWORD OPERATION_PATH
// The browser is /usr/bin/chromium unless CHROMIUM names another.
import { chromium } from 'playwright-core';

const [docsUrl, username, password, opPath] = process.argv.slice(2);
if (!opPath) {
  console.error('usage: node swagger_login.mjs DOCS_URL USERNAME PASSWORD OPERATION_PATH');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20000);
  await page.goto(docsUrl);

  const op = page.locator(`.opblock:has(.opblock-summary-path[data-path="${opPath}"])`).first();

  // Executes the operation with "Try it out" and answers the status shown.
  async function call() {
    if ((await op.locator('.opblock-body').count()) === 0) {
      await op.locator('.opblock-summary').first().click();
    }
    const tryOut = op.locator('button.try-out__btn');
    await tryOut.waitFor();
    if ((await tryOut.innerText()).includes('Try it out')) {
      await tryOut.click();
    }
    await op.locator('button.execute').click();
    // The first data row of the live responses (the header row says "Code").
    const cell = op.locator('.live-responses-table .response .response-col_status').first();
    await cell.waitFor();
    const text = (await cell.innerText()).trim();
    const status = parseInt(text, 10);
    if (Number.isNaN(status)) {
      throw new Error(`no status in the live response cell: ${JSON.stringify(text)}`);
    }
    const clear = op.locator('button.btn-clear');
    if ((await clear.count()) > 0) {
      await clear.click();
    }
    return status;
  }

  const before = await call();

  await page.locator('.auth-wrapper .btn.authorize').first().click();
  // The OAuth2 block, found by its flow name: its inputs go once it is authorized.
  const block = page.locator('.auth-container').filter({ hasText: 'OAuth2, password' });
  await block.locator('#oauth_username').fill(username);
  await block.locator('#oauth_password').fill(password);
  await block.locator('button.authorize').click();
  // Swagger UI swaps the button for "Logout" once the token endpoint answered.
  await block.locator('button', { hasText: 'Logout' }).waitFor();
  await page.locator('.dialog-ux .close-modal').first().click();

  const after = await call();
  console.log(JSON.stringify({ before, after }));
} catch (e) {
  // A picture of the page says more than a timeout: keep one where asked.
  if (process.env.SCREENSHOT_ON_FAILURE) {
    const [page] = browser.contexts().flatMap((c) => c.pages());
    if (page) {
      await page.screenshot({ path: process.env.SCREENSHOT_ON_FAILURE, fullPage: true });
      const dialog = page.locator('.dialog-ux');
      if ((await dialog.count()) > 0) {
        console.error((await dialog.first().innerHTML()).slice(0, 6000));
      }
    }
  }
  throw e;
} finally {
  await browser.close();
}
