/* QuotaWatch accessibility layer (loaded from assets, so it needs no inline script).
 *
 * Dash 4's own components produce markup that fails WCAG 2.1 A/AA; this file repairs it in
 * the DOM as the components render, and adds what the dashboard needs on every page:
 *
 * - dcc.Dropdown: its hidden focus target (<input tabindex=0 aria-hidden=true>) is taken out
 *   of the tab order (disabled) and its trigger button becomes the single tab stop, named by
 *   the control's visible label and its value (the label's id is "<dropdown id>-label").
 * - dcc.RadioItems / dcc.Checklist and the option lists of open dropdowns: the
 *   role=listbox of label role=option wrapping native inputs becomes a named radiogroup
 *   (or group) of plain labels, so the native radios and checkboxes carry name and state.
 * - Charts: the Plotly toolbar takes no focus (it stays usable with a mouse), the drawing is
 *   hidden from screen readers, and the chart is a role=figure whose aria-label summarises
 *   its title and numbers.
 * - Tables: Enter on a building's name in any grid opens the building's page.
 * - The skip link moves focus to the page content; the page language follows the switch.
 *
 * docs/dashboard.md ("Accessibility") explains each workaround and the upstream report.
 */
(function () {
    "use strict";

    var LANG_TAGS = {zh: "zh-CN", en: "en"};

    function setAttr(el, name, value) {
        if (el.getAttribute(name) !== value) {
            el.setAttribute(name, value);
        }
    }

    function dropAttr(el, name) {
        if (el.hasAttribute(name)) {
            el.removeAttribute(name);
        }
    }

    /* The visible label of a control: <label for=id>, else the label of its .qw-control. */
    function labelFor(id, el) {
        var label = id ? document.getElementById(id + "-label") : null;
        if (!label) {
            var control = el.closest(".qw-control");
            label = control ? control.querySelector(":scope > label") : null;
        }
        if (label && !label.id && id) {
            label.id = id + "-label";
        }
        return label;
    }

    function fixDropdown(wrapper) {
        var focusTarget = wrapper.querySelector(":scope > .dash-dropdown-focus-target");
        var button = wrapper.querySelector(":scope > button.dash-dropdown");
        if (focusTarget) {
            if (!focusTarget.disabled) {
                focusTarget.disabled = true;
            }
            setAttr(focusTarget, "tabindex", "-1");
        }
        if (!button) {
            return;
        }
        if (!button.disabled) {
            setAttr(button, "tabindex", "0");
        }
        var label = labelFor(button.id, wrapper);
        if (label && label.id && button.id) {
            setAttr(
                button,
                "aria-labelledby",
                label.id + " " + button.id + "-value-count " + button.id + "-value"
            );
        }
    }

    function fixOptionList(list) {
        var radios = list.querySelector("input[type=radio]");
        setAttr(list, "role", radios ? "radiogroup" : "group");
        dropAttr(list, "aria-multiselectable");
        var label = list.id ? labelFor(list.id, list) : null;
        if (label && label.id) {
            setAttr(list, "aria-labelledby", label.id);
        }
    }

    function fixOption(option) {
        dropAttr(option, "role");
        dropAttr(option, "aria-selected");
    }

    function fixModebarButton(button) {
        setAttr(button, "tabindex", "-1");
    }

    /* Apply fix to root itself and to every element under it that matches selector. */
    function each(root, selector, fix) {
        if (root.matches(selector)) {
            fix(root);
        }
        root.querySelectorAll(selector).forEach(fix);
    }

    function repair(root) {
        if (!root || root.nodeType !== 1) {
            return;
        }
        each(root, ".dash-dropdown-wrapper", fixDropdown);
        each(root, ".dash-options-list", fixOptionList);
        each(root, ".dash-options-list-option", fixOption);
        each(root, ".modebar-btn", fixModebarButton);
    }

    /* ---- chart summaries ---------------------------------------------------------- */

    var WORDS = {
        zh: {chart: "图表", values: "个数值，范围", to: "至"},
        en: {chart: "Chart", values: " values from", to: "to"},
    };
    var MAX_POINTS = 24;

    function words() {
        return (document.documentElement.lang || "").indexOf("en") === 0 ? WORDS.en : WORDS.zh;
    }

    function text(value) {
        if (value === null || value === undefined) {
            return "";
        }
        if (typeof value === "object") {
            return text(value.text);
        }
        return String(value).replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
    }

    function number(value) {
        if (typeof value !== "number" || !isFinite(value)) {
            return text(value);
        }
        var rounded = Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 100) / 100;
        return rounded.toLocaleString(words() === WORDS.en ? "en" : "zh-CN");
    }

    function flat(values) {
        var out = [];
        (values || []).forEach(function (v) {
            if (Array.isArray(v)) {
                out = out.concat(flat(v));
            } else if (typeof v === "number" && isFinite(v)) {
                out.push(v);
            }
        });
        return out;
    }

    function traceSummary(trace) {
        var w = words();
        var name = text(trace.name);
        if (trace.type === "heatmap" || trace.type === "histogram") {
            var values = flat(trace.type === "heatmap" ? trace.z : trace.x || trace.y);
            if (!values.length) {
                return name;
            }
            var low = Math.min.apply(null, values);
            var high = Math.max.apply(null, values);
            return (name ? name + ": " : "") + values.length + w.values + " " + number(low) +
                " " + w.to + " " + number(high);
        }
        var horizontal = trace.orientation === "h";
        var keys = (horizontal ? trace.y : trace.x) || [];
        var vals = (horizontal ? trace.x : trace.y) || [];
        var points = [];
        for (var i = 0; i < vals.length; i += 1) {
            var missing = vals[i] === null || vals[i] === undefined;
            if (!missing && !(trace.type === "bar" && vals[i] === 0)) {
                points.push([keys[i] !== undefined ? text(keys[i]) : "", vals[i]]);
            }
        }
        if (points.length > MAX_POINTS) {
            /* A long series (days of a year): its span, range and last value. */
            var numbers = flat(points.map(function (p) { return p[1]; }));
            var first = points[0];
            var last = points[points.length - 1];
            return (name ? name + ": " : "") + first[0] + " " + w.to + " " + last[0] + ", " +
                points.length + w.values + " " + number(Math.min.apply(null, numbers)) + " " +
                w.to + " " + number(Math.max.apply(null, numbers)) + "; " + last[0] + " " +
                number(last[1]);
        }
        points = points.map(function (p) { return (p[0] ? p[0] + " " : "") + number(p[1]); });
        return (name ? name + ": " : "") + points.join(", ");
    }

    function chartSummary(plot) {
        var layout = plot.layout || {};
        var parts = [];
        var title = text(layout.title);
        parts.push(title || words().chart);
        ["xaxis", "yaxis"].forEach(function (axis) {
            var axisTitle = layout[axis] ? text(layout[axis].title) : "";
            if (axisTitle) {
                parts.push(axisTitle);
            }
        });
        (plot.data || []).forEach(function (trace) {
            if (trace.visible === false) {
                return;
            }
            var summary = traceSummary(trace);
            if (summary) {
                parts.push(summary);
            }
        });
        (layout.annotations || []).forEach(function (note) {
            var noteText = text(note.text);
            if (noteText) {
                parts.push(noteText);
            }
        });
        return parts.join(". ");
    }

    function describeCharts() {
        document.querySelectorAll(".dash-graph").forEach(function (graph) {
            var plot = graph.querySelector(".js-plotly-plot");
            if (!plot || !plot.data) {
                return;
            }
            setAttr(graph, "role", "figure");
            setAttr(graph, "aria-label", chartSummary(plot));
            var drawing = plot.querySelector(".svg-container");
            if (drawing) {
                setAttr(drawing, "aria-hidden", "true");
            }
        });
    }

    /* ---- observer ----------------------------------------------------------------- */

    var chartTimer = null;

    function scheduleCharts() {
        if (chartTimer === null) {
            chartTimer = window.setTimeout(function () {
                chartTimer = null;
                describeCharts();
            }, 150);
        }
    }

    function start() {
        repair(document.body);
        describeCharts();
        new MutationObserver(function (records) {
            var touched = false;
            records.forEach(function (record) {
                if (record.type === "childList") {
                    record.addedNodes.forEach(function (node) {
                        if (node.nodeType === 1) {
                            repair(node.parentElement || node);
                        }
                    });
                } else {
                    repair(record.target.parentElement || record.target);
                }
                touched = true;
            });
            if (touched) {
                scheduleCharts();
            }
        }).observe(document.body, {
            childList: true,
            subtree: true,
            attributes: true,
            attributeFilter: ["tabindex", "role", "aria-selected", "aria-labelledby"],
        });
    }

    /* ---- keyboard ----------------------------------------------------------------- */

    var BUILDING_COLUMNS = ["building", "name"];

    /* The building id of a grid row: the row's building_id cell (same row index). */
    function rowBuildingId(cell) {
        var row = cell.closest("[role=row]");
        var grid = cell.closest(".ag-root-wrapper");
        if (!row || !grid) {
            return null;
        }
        var index = row.getAttribute("row-index");
        var idCell = grid.querySelector(
            "[role=row][row-index='" + index + "'] [col-id='building_id']"
        );
        return idCell ? idCell.textContent.trim() : null;
    }

    function onKeyDown(event) {
        if (event.key !== "Enter" || event.altKey || event.ctrlKey || event.metaKey) {
            return;
        }
        var cell = event.target.closest ? event.target.closest("[role=gridcell]") : null;
        if (!cell || BUILDING_COLUMNS.indexOf(cell.getAttribute("col-id")) < 0) {
            return;
        }
        var link = cell.querySelector("a[href]");
        if (link) {
            event.preventDefault();
            link.click();
            return;
        }
        var buildingId = rowBuildingId(cell);
        if (buildingId) {
            event.preventDefault();
            window.location.assign("/building/" + encodeURIComponent(buildingId));
        }
    }

    function onClick(event) {
        var skip = event.target.closest ? event.target.closest("a.qw-skip") : null;
        if (!skip) {
            return;
        }
        var target = document.getElementById((skip.getAttribute("href") || "").slice(1));
        if (target) {
            event.preventDefault();
            target.focus();
            target.scrollIntoView({block: "start"});
        }
    }

    document.addEventListener("keydown", onKeyDown, true);
    document.addEventListener("click", onClick, true);
    if (document.body) {
        start();
    } else {
        document.addEventListener("DOMContentLoaded", start);
    }

    /* ---- clientside callbacks (named, so no inline script is needed) --------------- */

    window.dash_clientside = window.dash_clientside || {};
    window.dash_clientside.quotawatch_a11y = {
        /* <html lang> follows the language switch; returns the tag it set. */
        set_lang: function (lang) {
            var tag = LANG_TAGS[lang] || LANG_TAGS.zh;
            document.documentElement.setAttribute("lang", tag);
            scheduleCharts();
            return tag;
        },
    };
})();
