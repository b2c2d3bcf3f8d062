/** The upload form's name field follows the chosen zip or folder (issue 20 item 9). */
import { describe, expect, it } from 'vitest';
import { nameAfterChoosing, suggestDatasetName } from '../src/datasets/upload-client.ts';

describe('dataset name after choosing a file', () => {
  it('is made from the file name', () => {
    expect(suggestDatasetName('Line 3 (May).zip')).toBe('Line-3-May-');
    expect(nameAfterChoosing('', false, 'plates.zip')).toBe('plates');
  });

  it('follows a second zip instead of keeping the first zip’s name', () => {
    const first = nameAfterChoosing('', false, 'plates.zip');
    expect(nameAfterChoosing(first, true, 'tiles.zip')).toBe('tiles');
    // Also after the user edited the first name: the new file names the new upload.
    expect(nameAfterChoosing('my-plates', true, 'tiles.zip')).toBe('tiles');
  });

  it('keeps a name typed before any file was chosen', () => {
    expect(nameAfterChoosing('line3', false, 'export-2024.zip')).toBe('line3');
  });
});
