//! The charts' canvases: after hydration the browser loads our own ECharts build
//! (`/pkg/echarts.js`, only when a chart is on the page) and draws each [`ChartSpec`] into its
//! element as an ECharts option built from charming's types. The server and browsers without JavaScript keep the CSS charts and tables of
//! `components::charts`, which stay the accessible form of the same figures.

use leptos::{html::Div, prelude::*};

/// What a chart shows, in the page's own terms (charming exists only in the browser bundle).
#[derive(Clone, Debug, PartialEq)]
pub enum ChartSpec {
    /// One column per label, in order: calls per hour.
    Columns {
        series: &'static str,
        labels: Vec<String>,
        values: Vec<i64>,
    },
    /// Parts of a whole: finished calls per outcome. `key` names the colour (see [`tone_of`]).
    Shares {
        series: &'static str,
        slices: Vec<Slice>,
    },
}

impl ChartSpec {
    /// What the chart adds up to (calls); the canvas carries it as `data-drawn` once drawn.
    pub fn total(&self) -> i64 {
        match self {
            Self::Columns { values, .. } => values.iter().sum(),
            Self::Shares { slices, .. } => slices.iter().map(|slice| slice.value).sum(),
        }
    }
}

/// One part of a [`ChartSpec::Shares`].
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    pub key: String,
    pub label: String,
    pub value: i64,
}

/// The page's colour (a CSS custom property of `style/switchboard.css`) for an outcome, the same
/// the outcome table's bars use, so a chart reads in both schemes.
pub fn tone_of(outcome: &str) -> &'static str {
    match outcome {
        "completed" => "--ok",
        "failed" | "stale" => "--bad",
        "no_answer" | "busy" => "--warn",
        _ => "--brand",
    }
}

/// Draws `spec` into `element` once ECharts has loaded and again whenever `spec` changes; follows
/// the window's size; disposes of the chart with the component. Returns whether the canvas is
/// drawn, for the CSS fallback to step aside. Never turns true on the server.
pub fn draw(element: NodeRef<Div>, spec: Signal<ChartSpec>) -> Signal<bool> {
    canvas::draw(element, spec)
}

#[cfg(feature = "hydrate")]
mod canvas {
    use charming::{
        component::{Axis, Grid},
        datatype::DataPointItem,
        element::{
            AxisLabel, AxisTick, AxisType, Color, ItemStyle, Label, LineStyle, SplitLine, Tooltip,
            Trigger,
        },
        series::{Bar, Pie},
    };
    use leptos::{ev, html::Div, prelude::*, task::spawn_local};
    use serde::Serialize;
    use wasm_bindgen::{JsValue, prelude::wasm_bindgen};
    use wasm_bindgen_futures::JsFuture;

    use super::{ChartSpec, tone_of};

    /// Where the build puts the ECharts bundle (scripts/build.sh) and the id of its `<script>`.
    const SCRIPT_SRC: &str = "/pkg/echarts.js";
    const SCRIPT_ID: &str = "echarts-js";

    // Our own four bindings instead of charming's `WasmRenderer`: the renderer takes a whole
    // `charming::Chart`, and serialising that type compiles the serialisers of every component
    // and series ECharts has into the bundle (+42 KB gzip of wasm, measured); the option below
    // is assembled from only the charming parts the page draws.
    #[wasm_bindgen]
    extern "C" {
        type EchartsInstance;

        #[wasm_bindgen(js_namespace = echarts, js_name = init)]
        fn init(element: &web_sys::HtmlElement, theme: &str) -> EchartsInstance;

        #[wasm_bindgen(method, js_name = setOption)]
        fn set_option(this: &EchartsInstance, option: &JsValue);

        #[wasm_bindgen(method)]
        fn resize(this: &EchartsInstance);

        #[wasm_bindgen(method, js_name = getWidth)]
        fn width(this: &EchartsInstance) -> f64;

        #[wasm_bindgen(method, js_name = getHeight)]
        fn height(this: &EchartsInstance) -> f64;

        #[wasm_bindgen(method)]
        fn dispose(this: &EchartsInstance);
    }

    /// At most one redraw per chart in this time: live updates can change the figures many
    /// times a second, and each drawing lays the chart out and measures its text again.
    const REDRAW_EVERY_MS: u32 = 1_000;

    pub(super) fn draw(element: NodeRef<Div>, spec: Signal<ChartSpec>) -> Signal<bool> {
        let drawn = RwSignal::new(false);
        let chart = StoredValue::new_local(None::<EchartsInstance>);
        // Spec changes seen, and whether a drawing loop is running to catch up with them.
        let changes = StoredValue::new(0_u64);
        let drawing = StoredValue::new(false);
        Effect::new(move |_| {
            spec.track();
            changes.update_value(|changes| *changes += 1);
            if drawing.get_value() {
                return;
            }
            drawing.set_value(true);
            spawn_local(async move {
                if let Err(error) = load_echarts().await {
                    leptos::logging::warn!("charts stay as tables: {error:?}");
                    // The next change tries again.
                    drawing.try_set_value(false);
                    return;
                }
                let mut shown_change = 0;
                loop {
                    // Each drawing runs in a task of its own (not in the one that ran ECharts'
                    // script): shorter tasks keep the page responsive on slow phones.
                    gloo_timers::future::TimeoutFuture::new(0).await;
                    let Some(latest) = changes.try_get_value() else {
                        return;
                    };
                    if latest == shown_change {
                        break;
                    }
                    shown_change = latest;
                    let (Some(element), Some(spec)) =
                        (element.get_untracked(), spec.try_get_untracked())
                    else {
                        return;
                    };
                    if paint(chart, &element, &spec) {
                        // What is on the canvas, for people and tests reading the page's markup.
                        let _ = element.set_attribute("data-drawn", &spec.total().to_string());
                        drawn.try_set(true);
                    }
                    gloo_timers::future::TimeoutFuture::new(REDRAW_EVERY_MS).await;
                }
                // No await since the last check: a change now starts a new loop.
                drawing.try_set_value(false);
            });
        });
        let resize = window_event_listener(ev::resize, move |_| {
            chart.with_value(|chart| chart.as_ref().map(EchartsInstance::resize));
        });
        on_cleanup(move || {
            resize.remove();
            chart.try_update_value(|chart| chart.take().map(|chart| chart.dispose()));
        });
        drawn.into()
    }

    /// Draws `spec` on the element's chart, creating the chart the first time. False when it
    /// could not (the component is gone, or the option did not serialise).
    fn paint(
        chart: StoredValue<Option<EchartsInstance>, LocalStorage>,
        element: &web_sys::HtmlDivElement,
        spec: &ChartSpec,
    ) -> bool {
        let option = match option_of(spec) {
            Ok(option) => option,
            Err(error) => {
                leptos::logging::warn!("chart not drawn: {error:?}");
                return false;
            }
        };
        chart
            .try_update_value(|chart| {
                let chart = chart.get_or_insert_with(|| init(element, theme()));
                // Its element may have been hidden (no figures) while the window changed size.
                // Only then: a resize lays the whole chart out again (measured: a quarter of the
                // drawing time when done on every update).
                let (width, height) = (element.client_width(), element.client_height());
                if chart.width() != f64::from(width) || chart.height() != f64::from(height) {
                    chart.resize();
                }
                chart.set_option(&option);
            })
            .is_some()
    }

    /// Loads `/pkg/echarts.js` once per page; charts that ask while it loads wait for the same
    /// script. A failed load removes the script so the next chart tries again.
    async fn load_echarts() -> Result<(), JsValue> {
        let window = web_sys::window().ok_or("no window")?;
        if js_sys::Reflect::has(&window, &JsValue::from_str("echarts"))? {
            return Ok(());
        }
        let document = window.document().ok_or("no document")?;
        let script = match document.get_element_by_id(SCRIPT_ID) {
            Some(script) => script,
            None => {
                let script = document.create_element("script")?;
                script.set_id(SCRIPT_ID);
                script.set_attribute("src", SCRIPT_SRC)?;
                document.head().ok_or("no head")?.append_child(&script)?;
                script
            }
        };
        let loaded = js_sys::Promise::new(&mut |resolve, reject| {
            let _ = script.add_event_listener_with_callback("load", &resolve);
            let _ = script.add_event_listener_with_callback("error", &reject);
        });
        let outcome = JsFuture::from(loaded).await;
        if outcome.is_err() {
            script.remove();
        }
        outcome.map(|_| ())
    }

    /// ECharts' own dark theme when the page is dark, so tooltips and labels follow the scheme.
    fn theme() -> &'static str {
        let dark = web_sys::window()
            .and_then(|window| {
                window
                    .match_media("(prefers-color-scheme: dark)")
                    .ok()
                    .flatten()
            })
            .is_some_and(|query| query.matches());
        if dark { "dark" } else { "" }
    }

    /// The page's style sheet, read once per drawing: its custom properties are the colours.
    struct PageColours(Option<web_sys::CssStyleDeclaration>);

    impl PageColours {
        fn read() -> Self {
            let window = web_sys::window();
            let root = window
                .as_ref()
                .and_then(|window| window.document()?.document_element());
            Self(
                window
                    .zip(root)
                    .and_then(|(window, root)| window.get_computed_style(&root).ok().flatten()),
            )
        }

        /// A custom property, e.g. `--brand` → `#1d5ad6` (that, when the page has none).
        fn get(&self, property: &str) -> Color {
            let value = self
                .0
                .as_ref()
                .and_then(|style| style.get_property_value(property).ok())
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
                .unwrap_or_else(|| "#1d5ad6".to_owned());
            Color::from(value.as_str())
        }
    }

    /// ECharts' option object: the parts are charming's types, serialised one by one.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Option_<'a, S: Serialize> {
        background_color: &'a str,
        animation: bool,
        tooltip: Tooltip,
        #[serde(skip_serializing_if = "Option::is_none")]
        grid: Option<Grid>,
        #[serde(skip_serializing_if = "Option::is_none")]
        x_axis: Option<Axis>,
        #[serde(skip_serializing_if = "Option::is_none")]
        y_axis: Option<Axis>,
        series: [S; 1],
    }

    /// Through JSON text: serde_json's serialiser is in the bundle anyway, and JSON.parse is
    /// quick, where serde-wasm-bindgen would add its own serialiser (measured: 5 KB gzip).
    fn to_js(value: &impl Serialize) -> Result<JsValue, JsValue> {
        let json = serde_json::to_string(value).map_err(|error| error.to_string())?;
        js_sys::JSON::parse(&json)
    }

    fn option_of(spec: &ChartSpec) -> Result<JsValue, JsValue> {
        let colours = PageColours::read();
        let text = colours.get("--muted");
        match spec {
            ChartSpec::Columns {
                series,
                labels,
                values,
            } => {
                let line = LineStyle::new().color(colours.get("--border"));
                to_js(&Option_ {
                    background_color: "transparent",
                    // Live updates change a figure or two; re-animating the chart distracts.
                    animation: false,
                    tooltip: Tooltip::new().trigger(Trigger::Axis),
                    grid: Some(
                        Grid::new()
                            .left(8)
                            .right(8)
                            .top(16)
                            .bottom(8)
                            .contain_label(true),
                    ),
                    x_axis: Some(
                        Axis::new()
                            .type_(AxisType::Category)
                            .data(labels.clone())
                            .axis_label(AxisLabel::new().color(text.clone()))
                            .axis_tick(AxisTick::new().show(false)),
                    ),
                    y_axis: Some(
                        Axis::new()
                            .type_(AxisType::Value)
                            .min_interval(1)
                            .axis_label(AxisLabel::new().color(text))
                            .split_line(SplitLine::new().line_style(line)),
                    ),
                    series: [Bar::new()
                        .name(*series)
                        .item_style(ItemStyle::new().color(colours.get("--brand")))
                        .data(values.clone())],
                })
            }
            ChartSpec::Shares { series, slices } => {
                let data = slices
                    .iter()
                    .map(|slice| {
                        DataPointItem::new(slice.value)
                            .name(slice.label.clone())
                            .item_style(ItemStyle::new().color(colours.get(tone_of(&slice.key))))
                    })
                    .collect::<Vec<_>>();
                to_js(&Option_ {
                    background_color: "transparent",
                    animation: false,
                    tooltip: Tooltip::new().trigger(Trigger::Item),
                    grid: None,
                    x_axis: None,
                    y_axis: None,
                    series: [Pie::new()
                        .name(*series)
                        .radius(vec!["45%", "70%"])
                        .item_style(
                            ItemStyle::new()
                                .border_color(colours.get("--surface"))
                                .border_width(2),
                        )
                        .label(Label::new().color(text).formatter("{b}: {d} %"))
                        .data(data)],
                })
                .and_then(|option| {
                    // Whole percents, as the outcome table shows them: charming's `Pie` has no
                    // `percentPrecision` (ECharts' default is two decimals).
                    let series = js_sys::Reflect::get(&option, &JsValue::from_str("series"))?;
                    let pie = js_sys::Reflect::get_u32(&series, 0)?;
                    js_sys::Reflect::set(
                        &pie,
                        &JsValue::from_str("percentPrecision"),
                        &JsValue::from(0),
                    )?;
                    Ok(option)
                })
            }
        }
    }
}

#[cfg(not(feature = "hydrate"))]
mod canvas {
    use leptos::{html::Div, prelude::*};

    use super::ChartSpec;

    pub(super) fn draw(_element: NodeRef<Div>, _spec: Signal<ChartSpec>) -> Signal<bool> {
        Signal::stored(false)
    }
}
