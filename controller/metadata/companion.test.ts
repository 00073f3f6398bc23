// Unit tests for companionImageFor: VideoHelperSuite video names to their first-frame PNG.
import { describe, expect, it } from 'vitest';
import { companionImageFor, sidecarTextFor } from './companion.js';

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

describe('sidecarTextFor', () => {
  it.each([
    ['txt2img-images/2026-11-24/00000-235284042.png', 'txt2img-images/2026-11-24/00000-235284042.txt'],
    ['a/00001-1.JPG', 'a/00001-1.txt'],
    ['x.webp', 'x.txt'],
  ])('%s → %s', (image, txt) => {
    expect(sidecarTextFor(image)).toBe(txt);
  });

  it.each(['notes.txt', 'out/.png', 'clip.mp4', 'noext'])('%s has none', (path) => {
    expect(sidecarTextFor(path)).toBeUndefined();
  });
});
