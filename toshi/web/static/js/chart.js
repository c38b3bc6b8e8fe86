/* A history chart (uPlot) of an entity's numeric attributes, from the temporal API. */
(function () {
  "use strict";
  const { api, t } = window.Toshi;
  const PALETTE = ["#0b5cad", "#c92a2a", "#1a7f37", "#b58100", "#8661c5", "#d9480f"];

  /* [[name, [[time, value], ...]], ...] of the numeric attributes in a temporalValues answer. */
  function numericSeries(temporal) {
    const series = [];
    for (const [name, attr] of Object.entries(temporal)) {
      const instances = Array.isArray(attr) ? attr : [attr];
      for (const instance of instances) {
        if (!instance || !Array.isArray(instance.values)) continue;
        const points = instance.values.filter((v) => typeof v[0] === "number")
          .map((v) => [Date.parse(v[1]) / 1000, v[0]]);
        if (points.length) series.push([instance.datasetId ? name + " (" + instance.datasetId + ")" : name, points]);
      }
    }
    return series;
  }

  /* uPlot wants one x axis: the union of times, each series null where it has no point. */
  function aligned(series) {
    const times = Array.from(new Set(series.flatMap(([, points]) => points.map((p) => p[0])))).sort((a, b) => a - b);
    const index = new Map(times.map((time, i) => [time, i]));
    return [times, ...series.map(([, points]) => {
      const column = new Array(times.length).fill(null);
      for (const [time, value] of points) column[index.get(time)] = value;
      return column;
    })];
  }

  async function historyChart(container, entityId) {
    container.replaceChildren();
    const query = new URLSearchParams({ options: "temporalValues", timeproperty: "modifiedAt", lastN: "200" });
    const temporal = await api("/ngsi-ld/v1/temporal/entities/" + encodeURIComponent(entityId) + "?" + query);
    const series = numericSeries(temporal);
    container.dataset.series = String(series.length);
    if (!series.length) return 0;
    const width = Math.max(240, container.clientWidth || 320);
    const options = { width, height: 200, scales: { x: { time: true } },
      series: [{}, ...series.map(([name], i) => ({ label: name, stroke: PALETTE[i % PALETTE.length], width: 2 }))] };
    new uPlot(options, aligned(series), container);
    container.setAttribute("aria-label", t("dash.history") + ": " + series.map(([name]) => name).join(", "));
    return series.length;
  }

  window.Toshi.historyChart = historyChart;
})();
