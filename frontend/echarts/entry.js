// The ECharts the page's charts need and nothing more, bundled by scripts/build.sh into
// target/site/pkg/echarts.js (an IIFE that sets `globalThis.echarts`, which charming calls).
// A series or component not registered here is silently not drawn: register it before using it.
import { init, dispose, use } from 'echarts/core';
import { BarChart, PieChart } from 'echarts/charts';
import { GridComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

use([BarChart, PieChart, GridComponent, TooltipComponent, CanvasRenderer]);

export { init, dispose };
