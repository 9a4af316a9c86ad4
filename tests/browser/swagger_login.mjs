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
    if ((await tryOut.count()) > 0 && (await tryOut.innerText()).includes('Try it out')) {
      await tryOut.click();
    }
    await op.locator('button.execute').click();
    const cell = op.locator('.live-responses-table .response-col_status').first();
    await cell.waitFor();
    const status = parseInt((await cell.innerText()).trim(), 10);
    const clear = op.locator('button.btn-clear');
    if ((await clear.count()) > 0) {
      await clear.click();
    }
    return status;
  }

  const before = await call();

  await page.locator('.auth-wrapper .btn.authorize').first().click();
  const block = page.locator('.auth-container:has(#oauth_username)');
  await block.locator('#oauth_username').fill(username);
  await block.locator('#oauth_password').fill(password);
  await block.locator('button.authorize').click();
  // Swagger UI swaps the button for "Logout" once the token endpoint answered.
  await block.locator('button.logout').waitFor();
  await page.locator('.dialog-ux .close-modal').first().click();

  const after = await call();
  console.log(JSON.stringify({ before, after }));
} finally {
  await browser.close();
}
