// Apache ECharts for the dashboard's history (the vendored build sets window.echarts), fetched
// only when that chart is drawn; the service worker keeps it once fetched.

let loading = null;

export function echarts() {
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      if (window.echarts) {
        resolve(window.echarts);
        return;
      }
      const script = document.createElement('script');
      script.src = '/static/vendor/echarts/echarts.simple.min.js';
      script.onload = () => resolve(window.echarts);
      script.onerror = () => {
        loading = null;
        reject(new Error('echarts'));
      };
      document.head.append(script);
    });
  }
  return loading;
}

/** Draw `option` into `el` (a block given a height by CSS); redraws on resize. */
export async function draw(el, option) {
  const lib = await echarts();
  const chart = lib.getInstanceByDom(el) || lib.init(el, null, { renderer: 'canvas' });
  chart.setOption(option, true);
  if (!el.dataset.resizes) {
    el.dataset.resizes = '1';
    new ResizeObserver(() => chart.resize()).observe(el);
  }
  return chart;
}
