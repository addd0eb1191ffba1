const mods = process.argv.slice(2);
const base = (global.gc(), process.memoryUsage().heapUsed);
for (const m of mods) { await import(m); global.gc(); const u = process.memoryUsage().heapUsed; console.log(m, ((u - base) / 2**20).toFixed(1), 'MB cumulative'); }
