/* The entry screen: keyboard-first keying beside the scan.
 *
 * No rule lives here. Values are sent to the server's check endpoints (the importer's own
 * pydantic schemas and rules) and the issues that come back are shown beside the fields.
 * What this file does: marks values that the screen proposed (carried forward, previous + 1,
 * read by OCR) until the transcriber confirms or overwrites them, records how each value came
 * about, autosaves the form, and handles the shortcuts.
 */
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("entry-data").textContent);
  // Every text this file shows comes from the page's catalogue (webentry/i18n.py, js_messages),
  // in the page's language; placeholders are %(name)s.
  const messages = JSON.parse(document.getElementById("entry-messages").textContent);
  const lang = document.documentElement.lang || "da";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const form = document.getElementById("record-form");
  const specs = {};
  const inputs = {};
  const order = [];
  data.layout.forEach(function (f) {
    specs[f.name] = f;
    inputs[f.name] = document.getElementById("f-" + f.name);
    order.push(f.name);
  });
  const roleField = {};
  Object.keys(data.ocr_roles || {}).forEach(function (field) { roleField[data.ocr_roles[field]] = field; });

  const state = {
    loebeNr: data.record ? data.record.loebe_nr : null,
    version: data.record ? data.record.version : null,
    pageSeq: data.page_seq,
    row: data.row_on_page || 0,
    ocr: data.ocr,
    marks: {},        // field -> {kind, value, confidence, box}: shown until confirmed
    offers: {},       // field -> {value, confidence, box}: OCR below the prefill threshold
    provenance: {},   // field -> {how, from, ...}
    notes: {},        // field -> why a flagged reading is kept
    fieldIssues: {},  // field -> issues of the field check
    recordIssues: [], // issues of the whole-record check
    acknowledged: new Set(),
    focusValue: {},   // value of a field when it got focus
    lastProblem: null,
    visited: new Set(),  // fields that had the focus
    showAll: false,      // after a refused save: every issue, also of fields not reached
    dirty: false,
    saving: false,
    pageChangedForward: false,
  };

  // ------------------------------------------------------------------ helpers

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function api(method, url, body, extra) {
    const opts = Object.assign({
      method: method,
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
      credentials: "same-origin",
    }, extra || {});
    if (body !== undefined) opts.body = JSON.stringify(body);
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) { return {status: r.status, body: b}; });
    });
  }

  function status(text, cls) {
    const s = $("save-status");
    s.textContent = text;
    s.className = "save-status " + (cls || "");
  }

  function msg(key, params) {
    const text = messages[key] !== undefined ? messages[key] : key;
    return text.replace(/%\((\w+)\)s/g, function (all, name) {
      return params && params[name] !== undefined && params[name] !== null ? String(params[name]) : all;
    });
  }

  // A message whose placeholders are elements (a <code> value, a <kbd> key): a fragment.
  function msgNodes(key, params) {
    const frag = document.createDocumentFragment();
    const text = messages[key] !== undefined ? messages[key] : key;
    const re = /%\((\w+)\)s/g;
    let at = 0, m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > at) frag.appendChild(document.createTextNode(text.slice(at, m.index)));
      const v = params ? params[m[1]] : undefined;
      frag.appendChild(v instanceof Node ? v : document.createTextNode(v === undefined ? m[0] : String(v)));
      at = re.lastIndex;
    }
    if (at < text.length) frag.appendChild(document.createTextNode(text.slice(at)));
    return frag;
  }

  // A time as the page's language writes it, 24-hour clock (an ISO text or a Date).
  function clock(value, withDate) {
    const d = value instanceof Date ? value : new Date(value);
    if (isNaN(d.getTime())) return value ? String(value) : "";
    const opts = {hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false};
    if (withDate) { opts.day = "numeric"; opts.month = "short"; opts.year = "numeric"; }
    return d.toLocaleString(lang === "en" ? "en-GB" : "da-DK", opts);
  }

  function pct(c) { return Math.round((c || 0) * 100) + " %"; }

  function values() {
    const out = {};
    order.forEach(function (n) { if (inputs[n].value !== "") out[n] = inputs[n].value; });
    return out;
  }

  function focused() {
    const a = document.activeElement;
    return a && a.name && inputs[a.name] === a ? a.name : null;
  }

  function issueKey(i) { return i.code + "|" + (i.field || ""); }

  function hasOcr(ocr) { return ocr && ocr.status === "done"; }

  function ocrState(code) { return messages["ocr_state_" + code] || code; }

  // ------------------------------------------------------------------ marks

  const MARK_TEXT = {
    carried: function (m) { return msg("mark_carried"); },
    proposed: function (m) { return m.why || msg("mark_proposed"); },
    ocr: function (m) { return msg("mark_ocr", {confidence: pct(m.confidence)}); },
  };

  function setMark(name, kind, value, extra) {
    if (!inputs[name]) return;
    inputs[name].value = value;
    state.marks[name] = Object.assign({kind: kind, value: value}, extra || {});
    delete state.provenance[name];
    renderMark(name);
    // put into the field being typed in (Alt+N's new page number): selected, as on arriving
    // there, so that typing replaces it instead of adding to it
    if (document.activeElement === inputs[name]) inputs[name].select();
  }

  function clearMark(name) {
    delete state.marks[name];
    renderMark(name);
  }

  function renderMark(name) {
    const m = state.marks[name];
    const tag = $("mark-" + name);
    const input = inputs[name];
    input.classList.remove("marked", "marked-carried", "marked-proposed", "marked-ocr");
    if (!m) { tag.hidden = true; tag.textContent = ""; describe(name); return; }
    input.classList.add("marked", "marked-" + m.kind);
    tag.hidden = false;
    tag.textContent = MARK_TEXT[m.kind](m);
    describe(name);
  }

  // What is shown beside a field is its description for assistive technology (the mark and the
  // messages, by id), and an error among the messages makes it invalid; both go with the messages.
  function describe(name) {
    const input = inputs[name];
    const ids = [];
    if (!$("mark-" + name).hidden) ids.push("mark-" + name);
    if ($("m-" + name).childNodes.length) ids.push("m-" + name);
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
    if (input.closest(".field").classList.contains("has-error")) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  // A marked value is confirmed when the transcriber leaves the field (Tab or Enter):
  // unchanged means accepted, changed means corrected.
  function confirmMark(name) {
    const m = state.marks[name];
    if (!m) return;
    const v = inputs[name].value;
    const p = {how: v === m.value ? "accepted" : "corrected", from: m.kind, suggested: m.value};
    if (m.confidence !== undefined) p.confidence = m.confidence;
    if (v === "" && m.kind !== "ocr") { delete state.provenance[name]; } else { state.provenance[name] = p; }
    clearMark(name);
  }

  function pendingMarks() { return order.filter(function (n) { return state.marks[n]; }); }

  // ------------------------------------------------------------------ defaults for a new record

  function applyNewDefaults() {
    const prev = data.previous;
    if (prev) {
      data.carried.forEach(function (n) {
        const v = prev.fields[n];
        if (v) setMark(n, "carried", v);
      });
    }
    data.proposed.forEach(function (n) {
      if (data.proposal) setMark(n, "proposed", data.proposal, {why: msg("why_previous")});
    });
    // the first record of a book: its registration year from the page heading or the book's years
    const year = data.year_proposal;
    if (!prev && year && inputs[year.field]) setMark(year.field, "proposed", year.value, {why: year.why});
    applyOcr();
  }

  function untouched(name) {
    // A field the screen may still fill: empty, or holding only a proposal of its own (not
    // one the person has begun to type over: an answer arriving late never replaces typing).
    const m = state.marks[name];
    return name && inputs[name] && (inputs[name].value === "" || (m && inputs[name].value === m.value)) &&
      (!state.provenance[name] || state.provenance[name].how === undefined);
  }

  function offerOrFill(name, s, threshold) {
    if (!name || !s || !s.value) return;
    if (!untouched(name)) { state.offers[name] = s; return; }
    if (threshold !== null && threshold !== undefined && s.confidence >= threshold) {
      const prior = state.marks[name];
      if (prior && prior.kind === "carried" && prior.value === s.value && state.row > 0) {
        prior.confidence = s.confidence; prior.box = s.box;   // the scan agrees with the carried value
        renderMark(name);
      } else {
        setMark(name, "ocr", s.value, {confidence: s.confidence, box: s.box,
          why: prior && prior.value !== s.value ? msg("why_before", {value: prior.value}) : null});
      }
      delete state.offers[name];
    } else {
      state.offers[name] = s;  // offered, not filled in: below the confidence the product trusts
    }
  }

  function applyOcr() {
    const ocr = state.ocr;
    const box = $("ocr-status");
    state.offers = {};
    if (!ocr) { box.textContent = ""; renderAll(); return; }
    if (!hasOcr(ocr)) {
      box.textContent = ocr.status === "pending" ? msg("ocr_pending") :
        msg(ocr.message ? "ocr_status_message" : "ocr_status", {status: ocrState(ocr.status), message: ocr.message});
      renderAll();
      return;
    }
    box.textContent = msg("ocr_done");
    if (state.loebeNr !== null) { renderAll(); return; }  // an existing record is never refilled
    const t = ocr.threshold || {};
    const pageField = roleField.page_number;
    const prevSamePage = data.previous && data.previous.page_seq === state.pageSeq && state.row > 0;
    if (pageField && ocr.page_number) {
      if (prevSamePage && state.marks[pageField] && state.marks[pageField].kind === "carried" &&
          state.marks[pageField].value !== ocr.page_number.value) {
        state.offers[pageField] = ocr.page_number;
      } else {
        offerOrFill(pageField, ocr.page_number, t.page_number);
      }
    }
    const row = (ocr.rows || [])[state.row];
    if (row) {
      offerOrFill(roleField.entry_number, row.entry_number, t.entry_number);
      Object.keys(row.dates || {}).forEach(function (role) {
        // only the trained birth-date recogniser is calibrated: a date Tesseract read (another
        // date of the row, or the cell the recogniser could not read) is offered, never filled in
        const d = row.dates[role];
        offerOrFill(roleField[role], d, d && String(d.source || "").indexOf("htr") >= 0 ? t.date : null);
      });
    }
    renderAll();
    const notes = $("ocr-notes");
    notes.textContent = "";
    // OCR notes about the scan, kept apart from the record's findings
    (ocr.findings || []).slice(0, 4).forEach(function (f) { notes.appendChild(el("div", "ocr-finding", msg("ocr_note", {message: f.message}))); });
  }

  // ------------------------------------------------------------------ issues

  function issuesOf(name) {
    const seen = new Set();
    const out = [];
    // A required field not reached yet is not an error yet: shown once it was visited or on save.
    const early = function (i) {
      return i.code === "REQUIRED_MISSING" && !state.visited.has(name) && !state.showAll;
    };
    (state.fieldIssues[name] || []).concat(state.recordIssues.filter(function (i) { return i.field === name && !early(i); }))
      .forEach(function (i) {
        const k = i.code + "|" + i.message;
        if (!seen.has(k)) { seen.add(k); out.push(i); }
      });
    return out;
  }

  function renderField(name) {
    const box = $("m-" + name);
    box.textContent = "";
    const issues = issuesOf(name);
    const field = form.querySelector('.field[data-field="' + name + '"]');
    field.classList.remove("has-error", "has-warning", "has-info");
    issues.forEach(function (i) {
      state.acknowledged.add(issueKey(i));
      field.classList.add("has-" + i.severity);
      const d = el("div", "issue sev-" + i.severity);
      d.appendChild(el("b", null, i.title + ": "));
      d.appendChild(document.createTextNode(i.message));
      if (i.suggestion !== null && i.suggestion !== undefined && i.suggestion !== inputs[name].value) {
        const s = el("span", "suggestion");
        s.appendChild(document.createTextNode(" → "));
        s.appendChild(el("code", null, i.suggestion === "" ? msg("empty") : i.suggestion));
        s.appendChild(el("kbd", null, "Alt+J"));
        d.appendChild(s);
      }
      if (i.severity !== "info" && !state.notes[name]) d.appendChild(el("span", "keep-hint", msg("keep_hint")));
      box.appendChild(d);
      if (i.severity !== "info") state.lastProblem = name;
    });
    const offer = state.offers[name];
    if (offer && offer.value !== inputs[name].value) {
      const o = el("div", "offer");
      o.appendChild(msgNodes("offer", {value: el("code", null, offer.value), confidence: pct(offer.confidence)}));
      o.appendChild(document.createTextNode(" "));
      o.appendChild(el("kbd", null, "Alt+J"));
      box.appendChild(o);
    }
    if (state.notes[name]) {
      const n = el("div", "note", msg("kept_note", {note: state.notes[name]}));
      box.appendChild(n);
    }
    describe(name);
  }

  function renderRecordIssues() {
    const box = $("record-issues");
    box.textContent = "";
    state.recordIssues.filter(function (i) { return !i.field || !inputs[i.field]; }).forEach(function (i) {
      state.acknowledged.add(issueKey(i));
      const d = el("div", "issue sev-" + i.severity);
      d.appendChild(el("b", null, i.title + ": "));
      d.appendChild(document.createTextNode(i.message));
      box.appendChild(d);
    });
  }

  function renderAll() {
    order.forEach(function (n) { renderField(n); renderMark(n); });
    renderRecordIssues();
  }

  let fieldSeq = 0;
  function checkField(name) {
    const v = inputs[name].value;
    const mine = ++fieldSeq;
    return api("POST", data.urls.check_field, {field: name, value: v}).then(function (r) {
      if (r.status !== 200 || inputs[name].value !== v || mine < fieldSeq - 50) return;
      state.fieldIssues[name] = r.body.issues || [];
      renderField(name);
    });
  }

  let recordTimer = null;
  let recordSeq = 0;
  function scheduleRecordCheck() {
    clearTimeout(recordTimer);
    recordTimer = setTimeout(checkRecord, 300);
  }

  function checkRecord() {
    const mine = ++recordSeq;
    return api("POST", data.urls.check_record, {fields: values(), loebe_nr: state.loebeNr}).then(function (r) {
      if (r.status !== 200 || mine !== recordSeq) return;
      state.recordIssues = r.body.issues || [];
      renderAll();
    });
  }

  // ------------------------------------------------------------------ scan viewer

  let viewer = null;
  function currentPage() {
    return data.pages.find(function (p) { return p.seq === state.pageSeq; }) || null;
  }

  function openViewer() {
    const page = currentPage();
    const host = $("viewer");
    if (!host || !page) return;
    if (!window.OpenSeadragon) {
      host.textContent = msg("viewer_failed");
      host.className = "viewer-missing";
      return;
    }
    if (!viewer) {
      viewer = window.OpenSeadragon({
        element: host, prefixUrl: data.urls.osd_images, tileSources: {type: "image", url: page.view},
        showNavigator: true, navigatorPosition: "BOTTOM_RIGHT", drawer: "canvas", visibilityRatio: 0.5,
        gestureSettingsMouse: {clickToZoom: false, dblClickToZoom: true}, maxZoomPixelRatio: 4,
      });
      viewer.addHandler("open", restoreView);
      viewer.addHandler("animation-finish", keepView);
      keyboardViewer(viewer, host);
    } else {
      viewer.open({type: "image", url: page.view});
    }
    $("page-seq").textContent = String(state.pageSeq);
  }

  // OpenSeadragon's own keys work while its canvas has the focus (they are listed in the shortcut
  // bar, which describes the canvas); its buttons are made reachable with Tab and named.
  function keyboardViewer(v, host) {
    v.canvas.setAttribute("role", "application");
    v.canvas.setAttribute("aria-label", host.getAttribute("aria-label") || "");
    if ($("viewer-keys")) v.canvas.setAttribute("aria-describedby", "viewer-keys");
    (v.buttonGroup ? v.buttonGroup.buttons : []).forEach(function (b) {
      b.element.tabIndex = 0;
      b.element.setAttribute("role", "button");
      b.element.setAttribute("aria-label", b.tooltip);
    });
  }

  // Alt+V: from a field to the scan (its keys then zoom and move it), and back to that field.
  let fieldBeforeViewer = null;
  function toggleViewer() {
    if (!viewer) return;
    if (viewer.element.contains(document.activeElement)) { backFromViewer(); return; }
    fieldBeforeViewer = focused();
    viewer.canvas.focus();
  }

  function backFromViewer() {
    (inputs[fieldBeforeViewer] || inputs[order[0]]).focus();
  }

  function viewKey() { return "mgr-view-" + data.book.id + "-" + state.pageSeq; }

  function keepView() {
    if (!viewer) return;
    const b = viewer.viewport.getBounds();
    try { sessionStorage.setItem(viewKey(), JSON.stringify([b.x, b.y, b.width, b.height])); } catch (e) { /* full */ }
  }

  function restoreView() {
    let saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(viewKey()) || "null"); } catch (e) { saved = null; }
    if (saved) viewer.viewport.fitBounds(new window.OpenSeadragon.Rect(saved[0], saved[1], saved[2], saved[3]), true);
    highlight(focused());
  }

  function highlight(name) {
    if (!viewer || !viewer.world.getItemCount()) return;
    viewer.clearOverlays();
    const m = name && (state.marks[name] || state.offers[name]);
    let box = m && m.box;
    if (!box && name && state.ocr && state.ocr.rows && state.ocr.rows[state.row] && specs[name] &&
        (specs[name].ocr === "entry_number" || specs[name].ocr === "date" || specs[name].ocr === "date2")) {
      box = state.ocr.rows[state.row].band;
    }
    if (!box) return;
    const marker = el("div", "ocr-box" + (m && m.box ? "" : " band"));
    const rect = viewer.viewport.imageToViewportRectangle(box[0], box[1], box[2] - box[0], box[3] - box[1]);
    viewer.addOverlay({element: marker, location: rect});
  }

  function changePage(step) {
    const seqs = data.pages.map(function (p) { return p.seq; });
    const at = seqs.indexOf(state.pageSeq);
    const to = seqs[at + step];
    if (to === undefined) { status(msg(step > 0 ? "last_scan" : "first_scan"), "warn"); return; }
    state.pageSeq = to;
    state.pageChangedForward = step > 0;
    openViewer();
    const before = state.loebeNr !== null ? "?before=" + state.loebeNr : "";
    api("GET", data.urls.ocr + "/" + to + "/ocr" + before).then(function (r) {
      if (r.status !== 200) return;
      state.ocr = r.body.ocr;
      state.row = r.body.row_on_page || 0;
      if (state.loebeNr === null) {
        // A new page: the page number carried from the record before is likely wrong now.
        const pf = roleField.page_number;
        if (pf && untouched(pf) && data.previous && data.previous.fields[pf] && /^\d+$/.test(data.previous.fields[pf])) {
          const next = String(parseInt(data.previous.fields[pf], 10) + (step > 0 ? 1 : 0));
          setMark(pf, "proposed", next, {why: msg("why_new_scan")});
        }
      }
      applyOcr();
      scheduleDraft();
    });
  }

  // ------------------------------------------------------------------ autocomplete

  const ac = {list: $("ac-list"), field: null, items: [], index: -1, timer: null};

  function acClose() {
    if (ac.field && inputs[ac.field]) {
      inputs[ac.field].setAttribute("aria-expanded", "false");
      inputs[ac.field].removeAttribute("aria-activedescendant");
    }
    ac.list.hidden = true; ac.items = []; ac.index = -1; ac.field = null;
  }

  function acFetch(name) {
    const spec = specs[name];
    if (!spec || !spec.suggest) return;
    clearTimeout(ac.timer);
    ac.timer = setTimeout(function () {
      const q = inputs[name].value;
      if (!q.trim()) { acClose(); return; }
      const sex = inputs.KOEN ? inputs.KOEN.value : "";
      const url = data.urls.suggest + "?book=" + data.book.id + "&field=" + encodeURIComponent(name) +
        "&q=" + encodeURIComponent(q) + "&sex=" + encodeURIComponent(sex);
      api("GET", url).then(function (r) {
        if (r.status !== 200 || focused() !== name || inputs[name].value !== q) return;
        acShow(name, r.body.values || [], r.body.standard);
      });
    }, 120);
  }

  function acShow(name, items, standard) {
    ac.list.textContent = "";
    ac.items = items.map(function (i) { return i.value; });
    ac.index = -1;
    ac.field = name;
    ac.list.setAttribute("aria-labelledby", "l-" + name);
    items.forEach(function (i, k) {
      const li = el("li", null, i.value);
      li.id = "ac-option-" + k;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      if (i.count) li.appendChild(el("small", null, " " + i.count));
      li.addEventListener("mousedown", function (ev) { ev.preventDefault(); acPick(k); });
      ac.list.appendChild(li);
    });
    if (standard) {
      const li = el("li", "standard", msg("standard_spelling", {value: standard}));
      li.setAttribute("role", "option");
      li.setAttribute("aria-disabled", "true");
      ac.list.appendChild(li);
    }
    if (!items.length && !standard) { acClose(); return; }
    ac.list.hidden = false;  // shown first: a hidden list has no offsetParent to measure against
    const r = inputs[name].getBoundingClientRect();
    const host = ac.list.offsetParent ? ac.list.offsetParent.getBoundingClientRect() : {left: 0, top: 0};
    ac.list.style.left = (r.left - host.left) + "px";
    ac.list.style.top = (r.bottom - host.top + 2) + "px";
    ac.list.style.minWidth = r.width + "px";
    ac.list.hidden = false;
    inputs[name].setAttribute("aria-expanded", "true");
  }

  function acMove(step) {
    if (!ac.items.length) return false;
    // positions -1 (nothing chosen, the typed text stands) .. n-1, wrapping round
    const slots = ac.items.length + 1;
    ac.index = ((ac.index + 1 + step) % slots + slots) % slots - 1;
    Array.prototype.forEach.call(ac.list.children, function (li, k) {
      li.classList.toggle("active", k === ac.index);
      if (li.id) li.setAttribute("aria-selected", k === ac.index ? "true" : "false");
    });
    if (ac.index >= 0) inputs[ac.field].setAttribute("aria-activedescendant", "ac-option-" + ac.index);
    else inputs[ac.field].removeAttribute("aria-activedescendant");
    return true;
  }

  function acPick(k) {
    const name = ac.field;
    if (!name || k < 0 || k >= ac.items.length) return;
    inputs[name].value = ac.items[k];
    state.provenance[name] = {how: "accepted", from: "autocomplete", suggested: ac.items[k]};
    acClose();
    onEdited(name);
  }

  // ------------------------------------------------------------------ shortcuts

  function targetForSuggestion() {
    const f = focused();
    if (f && (issuesOf(f).some(function (i) { return i.suggestion !== null && i.suggestion !== undefined; }) || state.offers[f])) return f;
    return state.lastProblem;
  }

  function acceptSuggestion() {
    const name = targetForSuggestion();
    if (!name) { status(msg("no_suggestion"), "warn"); return; }
    const issue = issuesOf(name).find(function (i) { return i.suggestion !== null && i.suggestion !== undefined; });
    const before = inputs[name].value;
    if (issue) {
      inputs[name].value = issue.suggestion;
      state.provenance[name] = {how: "accepted", from: "check", suggested: issue.suggestion};
      // the value now comes from the check: the older reading of the scan is not offered again,
      // so a second Alt+J cannot put it back over the accepted value
      delete state.offers[name];
      status(msg("accepted_suggestion", {label: specs[name].label}), "ok");
    } else if (state.offers[name]) {
      const o = state.offers[name];
      inputs[name].value = o.value;
      state.provenance[name] = {how: "accepted", from: "ocr", suggested: o.value, confidence: o.confidence};
      delete state.offers[name];
      status(msg("took_scan_value", {label: specs[name].label}), "ok");
    } else {
      status(msg("no_suggestion"), "warn");
      return;
    }
    clearMark(name);
    if (before !== inputs[name].value) { delete state.notes[name]; }
    state.fieldIssues[name] = [];
    state.recordIssues = state.recordIssues.filter(function (i) { return i.field !== name; });
    if (state.lastProblem === name) state.lastProblem = null;
    renderField(name);
    onEdited(name, true);
  }

  // The note editor lives beside the field's message box, not in it: checks that answer
  // while it is open re-render the messages only, never the editor the person types in.
  function keepAsInBook() {
    const name = focused() && issuesOf(focused()).length ? focused() : state.lastProblem;
    if (!name) { status(msg("nothing_to_keep"), "warn"); return; }
    const box = $("m-" + name);
    const open = $("note-edit-" + name);
    if (open) { open.querySelector("input").focus(); return; }
    const back = document.activeElement;
    const wrap = el("div", "note-edit");
    wrap.id = "note-edit-" + name;
    const label = el("label", null, msg("note_label"));
    const input = el("input", "note-input");
    input.value = state.notes[name] || msg("note_default");
    label.appendChild(input);
    wrap.appendChild(label);
    box.parentNode.insertBefore(wrap, box.nextSibling);
    input.focus();
    input.select();
    function closeEditor() {
      wrap.remove();
      renderField(name);
      (back && back !== document.body && document.contains(back) ? back : inputs[name]).focus();
    }
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") {
        ev.preventDefault();
        ev.stopPropagation();
        if (input.value.trim()) state.notes[name] = input.value.trim();
        state.dirty = true;
        scheduleDraft();
        closeEditor();
        status(msg("kept_with_note", {label: specs[name].label}), "ok");
      } else if (ev.key === "Escape") {
        ev.preventDefault();
        ev.stopPropagation();
        closeEditor();
      }
    });
  }

  function sameAsAbove() {
    const name = focused();
    if (!name) return;
    const prev = data.previous;
    const v = prev && prev.fields[name];
    if (!v) { status(msg("nothing_above", {label: specs[name].label}), "warn"); return; }
    inputs[name].value = v;
    clearMark(name);
    state.provenance[name] = {how: "accepted", from: "above", suggested: v};
    onEdited(name, true);
  }

  function illegible() {
    const name = focused();
    if (!name) return;
    const input = inputs[name];
    if (specs[name].kind === "date") {
      const s = input.selectionStart, e = input.selectionEnd;
      let v = input.value;
      if (e > s) {
        v = v.slice(0, s) + "?".repeat(e - s) + v.slice(e);
      } else {
        v = (v + "????????").slice(0, Math.max(8, v.length));
      }
      input.value = v;
    } else {
      input.value = "?";
    }
    clearMark(name);
    state.provenance[name] = {how: "illegible"};
    onEdited(name, true);
  }

  // ------------------------------------------------------------------ editing events

  function onEdited(name, checkNow) {
    state.dirty = true;
    scheduleDraft();
    if (checkNow) { checkField(name); scheduleRecordCheck(); }
  }

  form.addEventListener("focusin", function (ev) {
    const name = ev.target.name;
    if (!inputs[name]) return;
    state.focusValue[name] = inputs[name].value;
    state.visited.add(name);
    if (state.marks[name]) ev.target.select();
    highlight(name);
  });

  form.addEventListener("focusout", function (ev) {
    const name = ev.target.name;
    if (!inputs[name]) return;
    const changed = inputs[name].value !== state.focusValue[name];
    if (state.marks[name]) {
      confirmMark(name);
      state.dirty = true;
      scheduleDraft();
    } else if (changed) {
      const v = inputs[name].value;
      const p = state.provenance[name];
      if (v === "") {
        delete state.provenance[name];
      } else if (!p || p.suggested !== v) {
        const offer = state.offers[name];
        state.provenance[name] = offer ? {how: "typed", offered: offer.value, confidence: offer.confidence} : {how: "typed"};
      }
    }
    if (ac.field === name) setTimeout(acClose, 0);
    if (changed || !(name in state.fieldIssues)) {
      checkField(name);
      scheduleRecordCheck();
    }
  });

  form.addEventListener("input", function (ev) {
    const name = ev.target.name;
    if (!inputs[name]) return;
    state.dirty = true;
    scheduleDraft();
    if (specs[name].suggest) acFetch(name);
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.target.classList && ev.target.classList.contains("note-input")) return;
    if (!$("conflict").hidden) return;
    if (viewer && viewer.element.contains(ev.target) && ev.key === "Escape") { ev.preventDefault(); backFromViewer(); return; }
    if (ev.altKey && !ev.ctrlKey && !ev.metaKey) {
      const acts = {KeyJ: acceptSuggestion, KeyB: keepAsInBook, KeyO: sameAsAbove, KeyU: illegible, KeyV: toggleViewer,
        KeyN: function () { changePage(1); }, KeyP: function () { changePage(-1); },
        ArrowUp: function () { goRecord(-1); }, ArrowDown: function () { goRecord(1); }};
      const act = acts[ev.code];
      if (act) { ev.preventDefault(); act(); }
      return;
    }
    if (ev.ctrlKey || ev.metaKey) return;
    const name = focused();
    if (ac.field && ac.field === name && !ac.list.hidden) {
      if (ev.key === "ArrowDown") { ev.preventDefault(); acMove(1); return; }
      if (ev.key === "ArrowUp") { ev.preventDefault(); acMove(-1); return; }
      if (ev.key === "Escape") { ev.preventDefault(); acClose(); return; }
      if (ev.key === "Enter") {
        // Enter in an open list never saves: it takes the chosen item, or with none chosen
        // only closes the list (the typed text stands; the next Enter saves).
        ev.preventDefault();
        if (ac.index >= 0) acPick(ac.index); else acClose();
        return;
      }
      if (ev.key === "Tab") {
        // Tab takes the chosen item and moves on as usual; with none chosen the typed text stands.
        if (ac.index >= 0) acPick(ac.index); else acClose();
      }
    }
    if (ev.key === "Enter" && name) {
      ev.preventDefault();
      save();
    }
  });

  function goRecord(step) {
    const link = $(step < 0 ? "prev-record" : "next-record");
    if (!link) { status(msg(step < 0 ? "first_record" : "last_record"), "warn"); return; }
    flushDraft().then(function () { window.location.assign(link.href); });
  }

  // ------------------------------------------------------------------ autosave

  let draftTimer = null;
  // the draft of this record: the new one, or the saved record being corrected
  function draftUrl() { return data.urls.draft + "?r=" + (state.loebeNr === null ? "new" : state.loebeNr); }
  function draftPayload() {
    return {loebe_nr: state.loebeNr, version: state.version, page_seq: state.pageSeq, fields: values(),
      provenance: state.provenance, notes: state.notes, marks: state.marks,
      acknowledged: Array.from(state.acknowledged)};
  }

  function scheduleDraft() {
    clearTimeout(draftTimer);
    draftTimer = setTimeout(flushDraft, 1200);
  }

  function flushDraft(keepalive) {
    clearTimeout(draftTimer);
    if (!state.dirty || state.saving) return Promise.resolve();
    return api("PUT", data.urls.draft, draftPayload(), keepalive ? {keepalive: true} : undefined).then(function (r) {
      if (r.status === 200) {
        status(msg("draft_saved", {time: clock(new Date(), false)}), "muted");
        document.body.dataset.draftSaved = r.body.saved_at || "yes";
      }
    }).catch(function () { status(msg("draft_offline"), "warn"); });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flushDraft(true);
  });
  window.addEventListener("pagehide", function () { flushDraft(true); });

  function restoreDraft(d) {
    order.forEach(function (n) { inputs[n].value = d.fields && d.fields[n] !== undefined ? d.fields[n] : ""; });
    state.marks = {};
    Object.keys(d.marks || {}).forEach(function (n) { if (inputs[n]) state.marks[n] = d.marks[n]; });
    state.provenance = d.provenance || {};
    state.notes = d.notes || {};
    (d.acknowledged || []).forEach(function (k) { state.acknowledged.add(k); });
    if (d.page_seq) state.pageSeq = d.page_seq;
    state.dirty = true;
    const b = $("banner");
    b.hidden = false;
    b.className = "banner info";
    b.textContent = msg("restored", {time: clock(d.saved_at, true)});
    const discard = el("button", "link", msg("discard"));
    discard.type = "button";
    discard.tabIndex = -1;
    discard.addEventListener("click", function () {
      api("DELETE", draftUrl()).then(function () { state.dirty = false; window.location.reload(); });
    });
    b.appendChild(discard);
  }

  // ------------------------------------------------------------------ saving

  function save() {
    if (state.saving) return;
    const name = focused();
    if (name && state.marks[name]) confirmMark(name);   // Enter on a marked value accepts it
    const pending = pendingMarks();
    if (pending.length) {
      status(msg("confirm_marked", {labels: pending.map(function (n) { return specs[n].label; }).join(", ")}), "warn");
      inputs[pending[0]].focus();
      return;
    }
    if (name) {
      const p = state.provenance[name];
      const v = inputs[name].value;
      if (v !== state.focusValue[name] && (!p || p.suggested !== v)) state.provenance[name] = {how: "typed"};
    }
    state.saving = true;
    state.saveFrom = {name: name, value: name ? inputs[name].value : null};
    status(msg("saving"), "muted");
    const body = {fields: values(), provenance: state.provenance, notes: state.notes, page_seq: state.pageSeq,
      acknowledged: Array.from(state.acknowledged), version: state.version};
    return send(body);
  }

  // A refused save takes the person to the field at fault only while they are still where
  // they pressed Enter; keys typed meanwhile must not land in another field.
  function stillWhereSaved() {
    const f = state.saveFrom || {};
    return focused() === f.name && (!f.name || inputs[f.name].value === f.value);
  }

  function send(body) {
    const url = state.loebeNr === null ? data.urls.records : data.urls.records + "/" + state.loebeNr;
    return api(state.loebeNr === null ? "POST" : "PUT", url, body).then(function (r) {
      state.saving = false;
      if (r.status === 200 || r.status === 201) {
        state.dirty = false;
        keepView();
        status(msg("saved_as", {number: r.body.record.loebe_nr}), "ok");
        document.body.dataset.saved = String(r.body.record.loebe_nr);
        window.location.assign(r.body.next);
        return;
      }
      if (r.status === 409 && r.body.theirs) { showConflict(r.body, body); return; }
      if (r.status === 422 && r.body.issues) {
        state.showAll = true;
        state.recordIssues = r.body.issues;
        renderAll();
        const first = (r.body.blocking || []).concat(r.body.unseen || [])[0];
        const field = first ? first.split("|")[1] : null;
        status(r.body.error + (r.body.blocking && r.body.blocking.length ? "" : msg("enter_saves")), "warn");
        if (field && inputs[field] && stillWhereSaved()) inputs[field].focus();
        return;
      }
      if (r.status === 422 && r.body.pending) {
        status(r.body.error, "warn");
        if (stillWhereSaved()) inputs[r.body.pending[0]].focus();
        return;
      }
      status(r.body.error || msg("not_saved_status", {status: r.status}), "error");
    }).catch(function () {
      state.saving = false;
      status(msg("not_saved_offline"), "error");
    });
  }

  function showConflict(info, mine) {
    const box = $("conflict");
    const rows = $("conflict-rows");
    rows.textContent = "";
    const theirs = info.theirs.fields || {};
    const yours = mine.fields || {};
    order.forEach(function (n) {
      const a = theirs[n] || "", b = yours[n] || "";
      if (!a && !b) return;
      const tr = el("tr", a !== b ? "differs" : "");
      tr.appendChild(el("td", null, specs[n].label));
      tr.appendChild(el("td", null, a));
      tr.appendChild(el("td", null, b));
      rows.appendChild(tr);
    });
    $("conflict-who").textContent = msg("conflict_who", {version: info.theirs.version, user: info.theirs.updated_by,
      time: clock(info.theirs.updated_at, true)});
    box.hidden = false;
    $("conflict-theirs").focus();
    $("conflict-theirs").onclick = function () {
      api("DELETE", draftUrl()).then(function () { state.dirty = false; window.location.reload(); });
    };
    $("conflict-mine").onclick = function () {
      box.hidden = true;
      state.version = info.theirs.version;
      send(Object.assign({}, mine, {version: info.theirs.version, force_over: info.theirs.version}));
    };
  }

  // ------------------------------------------------------------------ start

  function start() {
    const d = data.draft;
    const draftHere = d && ((d.loebe_nr === null && state.loebeNr === null) || d.loebe_nr === state.loebeNr);
    if (data.record) {
      order.forEach(function (n) { inputs[n].value = data.record.fields[n] || ""; });
      state.provenance = Object.assign({}, data.record.provenance || {});
      state.notes = Object.assign({}, data.record.notes || {});
    }
    if (draftHere) {
      restoreDraft(d);
    } else {
      if (!data.record) applyNewDefaults();
      if (d) {
        const b = $("banner");
        b.hidden = false;
        b.className = "banner info";
        b.textContent = d.loebe_nr === null ? msg("unsaved_new") : msg("unsaved_record", {number: d.loebe_nr});
        const a = el("a", null, msg("open_it"));
        a.href = data.urls.screen + "?r=" + (d.loebe_nr === null ? "new" : d.loebe_nr);
        a.tabIndex = -1;
        b.appendChild(a);
      }
    }
    if (draftHere && state.loebeNr === null && hasOcr(state.ocr)) {
      // Offers only: the draft's own values and marks stand.
      const row = (state.ocr.rows || [])[state.row];
      if (row) Object.keys(row.dates || {}).forEach(function (role) {
        const f = roleField[role];
        if (f && !inputs[f].value) state.offers[f] = row.dates[role];
      });
    }
    if (state.ocr && (data.record || draftHere)) {
      $("ocr-status").textContent = hasOcr(state.ocr) ? msg("ocr_done") : msg("ocr_status", {status: ocrState(state.ocr.status)});
    }
    renderAll();
    openViewer();
    if (data.record || draftHere) checkRecord();
    // Every record starts at the first column, so that each marked value is seen in turn.
    if (order.length) inputs[order[0]].focus();
    document.body.dataset.ready = "yes";
  }

  start();
})();
