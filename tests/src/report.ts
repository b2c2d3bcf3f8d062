/** Browser steps on a run's evaluation report that several suites take. */
import type { Locator, Page } from 'playwright-core';

/** Opens the confusion-matrix cell holding the most images, then its first image in the enlarged view. */
export async function openBusiestCellImage(page: Page): Promise<Locator> {
  await page.waitForSelector('[data-testid^="cm-cell-"]', { timeout: 30_000 });
  const busiest = await page.$$eval('[data-testid^="cm-cell-"]', (els) =>
    els.reduce((best, e) => (Number(e.getAttribute('data-count')) > Number(best.getAttribute('data-count')) ? e : best)).getAttribute('data-testid'),
  );
  await page.click(`[data-testid="${busiest}"]`);
  await page.getByTestId('cell-image-open').first().click();
  return page.getByTestId('enlarged-image');
}
