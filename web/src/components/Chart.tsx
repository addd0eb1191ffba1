// uPlot in a component: the chart follows its container's width, is rebuilt when its options
// or the theme change, and takes new data without being rebuilt.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';
import { cssColor, theme, type Theme } from '../theme';
import { useStore } from '../store';

export interface ChartColors {
  text: string;
  grid: string;
}

export interface ChartProps {
  /** Options without size; called again when the theme changes. Keep its identity stable (useMemo). */
  options: (colors: ChartColors, theme: Theme) => Omit<uPlot.Options, 'width' | 'height'>;
  data: uPlot.AlignedData;
  height: number;
  class?: string;
}

export function Chart({ options, data, height, class: className }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const current = useStore(theme);
  const dataRef = useRef(data);
  dataRef.current = data;

  useEffect(() => {
    const el = box.current!;
    const colors = { text: cssColor('--muted'), grid: cssColor('--grid') };
    const opts = options(colors, current);
    const u = new uPlot({ ...opts, width: Math.max(el.clientWidth, 100), height }, dataRef.current, el);
    plot.current = u;
    const resize = new ResizeObserver(() => {
      if (el.clientWidth > 0) u.setSize({ width: el.clientWidth, height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [options, current, height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div ref={box} class={`chart ${className ?? ''}`} />;
}

/** Axis styling shared by every chart. */
export function axes(colors: ChartColors, y: Partial<uPlot.Axis> = {}): uPlot.Axis[] {
  const base = { stroke: colors.text, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1 } };
  return [base, { ...base, size: 56, ...y }];
}

/** The colour key of a chart (uPlot's own legend is off: it is too wide for small panels). */
export function Legend({ items }: { items: { label: string; color: string }[] }) {
  return (
    <div class="legend">
      {items.map((i) => (
        <span key={i.label} class="legend-item">
          <i style={{ background: `var(${i.color})` }} />
          {i.label}
        </span>
      ))}
    </div>
  );
}
