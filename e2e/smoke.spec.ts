import { expect, test } from '@playwright/test';

test('the server answers in Chromium: health check and the start page, with no page errors', async ({
  page,
  request,
}) => {
  const health = await request.get('/healthz');
  expect(await health.json()).toMatchObject({ ok: true });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto('/');
  await expect(page).toHaveTitle(/Patchbay/);
  expect(errors).toEqual([]);
});
