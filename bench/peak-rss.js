// Preloaded by the bench into a sync process: prints its peak resident memory to stderr as it exits.
process.on('exit', () => {
  process.stderr.write(`peak-rss-mib=${(process.resourceUsage().maxRSS / 1024).toFixed(1)}\n`);
});
