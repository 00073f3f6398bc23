// Unit tests for companionImageFor: VideoHelperSuite video names to their first-frame PNG.
import { describe, expect, it } from 'vitest';
import { companionImageFor } from './companion.js';

describe('companionImageFor', () => {
  it.each([
    ['AnimateDiff_00001.mp4', 'AnimateDiff_00001.png'],
    ['AnimateDiff_00001-audio.mp4', 'AnimateDiff_00001.png'],
    ['output/video/AnimateDiff_00012.webm', 'output/video/AnimateDiff_00012.png'],
    ['/root/ComfyUI/output/clip-audio_00003-audio.MOV', '/root/ComfyUI/output/clip-audio_00003.png'],
    ['AnimateDiff_00002.gif', 'AnimateDiff_00002.png'],
    ['C:\\out\\AnimateDiff_00001.mkv', 'C:\\out\\AnimateDiff_00001.png'],
    ['my.video.v2_00001.m4v', 'my.video.v2_00001.png'],
  ])('%s → %s', (video, png) => {
    expect(companionImageFor(video)).toBe(png);
  });

  it.each(['AnimateDiff_00001.png', 'notes.txt', 'out/.mp4', 'out/-audio.mp4', 'noext'])(
    '%s has none',
    (path) => {
      expect(companionImageFor(path)).toBeUndefined();
    },
  );
});
