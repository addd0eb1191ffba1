// When the server's loader was busy, seen from outside: the pipeline links each spool segment
// into DATA/files/.segments as `segment-<id>.tsv` just before loading it into the store, and
// renames (or, when the load fails, removes) the link once the load has ended
// (pipeline/ingest-pipeline.ts keepLink / keptLoaded). Watching that folder gives each load's
// start and end on this process's clock, close enough to classify acknowledgements taking
// milliseconds. It needs the category files on (the default) and their sink keeping up.

import fs from 'node:fs';

export interface Interval {
  start: number;
  end: number;
}

export class StoreLoads {
  private readonly watcher: fs.FSWatcher;
  private readonly started = new Map<string, number>();
  readonly loads: Interval[] = [];

  constructor(segmentsDir: string) {
    fs.mkdirSync(segmentsDir, { recursive: true });
    this.watcher = fs.watch(segmentsDir, (_event, name) => {
      if (name === null || !/^segment-\d+\.tsv$/.test(name)) return;
      // The link's first event is its creation, the second its rename or removal.
      const start = this.started.get(name);
      if (start === undefined) {
        this.started.set(name, performance.now());
      } else {
        this.started.delete(name);
        this.loads.push({ start, end: performance.now() });
      }
    });
  }

  /** Whether a load was running at some moment of [from, to] (performance.now() times). */
  during(from: number, to: number): boolean {
    for (const l of this.loads) if (l.start <= to && l.end >= from) return true;
    for (const start of this.started.values()) if (start <= to) return true;
    return false;
  }

  close(): void {
    this.watcher.close();
  }
}
