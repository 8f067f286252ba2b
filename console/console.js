// The ops console: plain DOM over the app's JSON routes. Every piece of data reaches the page through
// textContent or a property, never as HTML; the function key stays in sessionStorage and in a header.
'use strict';

(() => {
  const I18N = globalThis.CONSOLE_I18N;
  const KEY_STORAGE = 'opsConsole.key';
  const LANG_STORAGE = 'opsConsole.lang';
  const REFRESH_STORAGE = 'opsConsole.autoRefresh';
  const REFRESH_MS = 5000;
  const PAGE_SIZE = 50;
  const DEFAULT_PERIOD = '7';
  const STATUSES = ['Running', 'Pending', 'Suspended', 'Completed', 'Failed', 'Terminated'];
  const QUICK_PARAMETERS = { health: {}, maintenance: { dryRun: true }, smoke: {} };

  const $ = (id) => document.getElementById(id);
  let lang = localStorage.getItem(LANG_STORAGE) === 'en' ? 'en' : 'fr';

  function t(key, vars = {}) {
    const text = I18N[lang][key] ?? I18N.fr[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
  }

  /** Builds an element; `text` is set as textContent, so data can never become markup. */
  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'text') node.textContent = String(value);
      else if (name === 'class') node.className = value;
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else if (['checked', 'value', 'disabled', 'selected', 'hidden'].includes(name)) node[name] = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    node.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
    return node;
  }

  // ---- Formatting ---------------------------------------------------------------------------------

  const dateFormat = () => new Intl.DateTimeFormat(lang, { dateStyle: 'short', timeStyle: 'medium' });
  const numberFormat = (options) => new Intl.NumberFormat(lang, options);

  function formatDate(value) {
    if (!value) return '—';
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? String(value) : dateFormat().format(date);
  }

  function formatSeconds(seconds) {
    if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
    if (seconds < 60) return `${numberFormat({ maximumFractionDigits: 1 }).format(seconds)} s`;
    if (seconds < 3600)
      return `${Math.floor(seconds / 60)} min ${String(Math.round(seconds % 60)).padStart(2, '0')} s`;
    return `${Math.floor(seconds / 3600)} h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')} min`;
  }

  const formatMs = (ms) =>
    typeof ms === 'number' && ms < 1000
      ? `${Math.round(ms)} ms`
      : formatSeconds(typeof ms === 'number' ? ms / 1000 : undefined);
  const formatCount = (n) => numberFormat().format(n ?? 0);
  const pretty = (value) => (value === undefined || value === null ? '—' : JSON.stringify(value, null, 2));

  function shortText(value, max = 80) {
    if (value === undefined || value === null || value === '') return '';
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
  }

  const statusLabel = (status) =>
    t(`status.${status}`) === `status.${status}` ? status : t(`status.${status}`);

  function statusBadge(status) {
    return el('span', {
      class: `badge status-${String(status).replace(/[^\w-]/g, '')}`,
      text: statusLabel(status),
    });
  }

  const scoreClass = (score) => (score >= 75 ? 'good' : score >= 40 ? 'warn' : 'bad');

  // ---- Notices -------------------------------------------------------------------------------------

  function notify(message, { error = false, runId } = {}) {
    const notice = $('notice');
    notice.replaceChildren(el('span', { text: message }));
    if (runId) notice.append(' ', el('a', { href: hrefWith({ run: runId }), text: t('notice.open') }));
    notice.classList.toggle('error', error);
    notice.hidden = false;
  }

  const notifyError = (error) =>
    notify(error instanceof ApiError ? error.message : String(error), { error: true });

  // ---- API -------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message, field) {
      super(message);
      this.status = status;
      this.code = code;
      this.field = field;
    }
  }

  const hasKey = () => Boolean(sessionStorage.getItem(KEY_STORAGE));

  /** Calls a route beside the page (`ops/...`), with the key in its header and the page's language. */
  async function api(path, { method = 'GET', body, form } = {}) {
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (!key) throw new ApiError(0, 'no_key', t('key.needed'));
    const headers = { 'x-functions-key': key, 'Accept-Language': lang, Accept: 'application/json' };
    let payload;
    if (form) payload = form;
    else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const response = await fetch(path, {
      method,
      headers,
      body: payload,
      cache: 'no-store',
      redirect: 'error',
    });
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (response.status === 401) {
      forgetKey();
      throw new ApiError(401, 'unauthorized', t('key.refused'));
    }
    if (!response.ok) {
      const error = data && typeof data === 'object' ? data.error : undefined;
      throw new ApiError(
        response.status,
        error?.code ?? `http_${response.status}`,
        error?.message ?? t('error.http', { status: response.status }),
        error?.field,
      );
    }
    return data;
  }

  // ---- State in the URL ---------------------------------------------------------------------------
  // Filters, the page stack, the open run and the metrics period live in the hash: Back restores them,
  // a link shares them, and the server never sees them (nor the key, which is never there).

  function readState() {
    const params = new URLSearchParams(location.hash.slice(1));
    return {
      workflow: params.get('workflow') ?? '',
      status: (params.get('status') ?? '').split(',').filter(Boolean),
      from: params.get('from') ?? '',
      to: params.get('to') ?? '',
      prefix: params.get('prefix') ?? '',
      pages: params.getAll('page'),
      run: params.get('run') ?? '',
      period: params.get('period') ?? DEFAULT_PERIOD,
    };
  }

  function hashOf(state) {
    const params = new URLSearchParams();
    if (state.workflow) params.set('workflow', state.workflow);
    if (state.status.length) params.set('status', state.status.join(','));
    if (state.from) params.set('from', state.from);
    if (state.to) params.set('to', state.to);
    if (state.prefix) params.set('prefix', state.prefix);
    for (const page of state.pages) params.append('page', page);
    if (state.run) params.set('run', state.run);
    if (state.period !== DEFAULT_PERIOD) params.set('period', state.period);
    const hash = params.toString();
    return hash ? `#${hash}` : '';
  }

  const hrefWith = (changes) => hashOf({ ...readState(), ...changes }) || location.pathname;

  function navigate(changes) {
    const hash = hashOf({ ...readState(), ...changes });
    history.pushState(null, '', hash || location.pathname + location.search);
    void applyState();
  }

  const filterOf = (state) => {
    const filter = {};
    if (state.workflow) filter.workflow = state.workflow;
    if (state.status.length) filter.status = state.status.join(',');
    if (state.from) filter.from = state.from;
    if (state.to) filter.to = state.to;
    if (state.prefix) filter.prefix = state.prefix;
    return filter;
  };

  // ---- Key and language ---------------------------------------------------------------------------

  function showKeyState() {
    const saved = hasKey();
    $('key-form').hidden = saved;
    $('key-saved').hidden = !saved;
    $('key-needed').hidden = saved;
  }

  function forgetKey() {
    sessionStorage.removeItem(KEY_STORAGE);
    showKeyState();
    stopRefresh();
  }

  function translatePage() {
    document.documentElement.lang = lang;
    document.title = t('title');
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll('[data-i18n-attr]')) {
      for (const pair of node.dataset.i18nAttr.split(';')) {
        const [attr, key] = pair.split(':');
        node.setAttribute(attr, t(key));
      }
    }
    const toggle = $('lang-toggle');
    toggle.textContent = lang === 'fr' ? 'English' : 'Français';
    toggle.lang = lang === 'fr' ? 'en' : 'fr';
    renderStatusFilters(readState());
  }

  // ---- Status cards ---------------------------------------------------------------------------------

  function renderHealth(report) {
    const score = $('health-score');
    score.classList.remove('good', 'warn', 'bad');
    if (!report) {
      score.textContent = '—';
      $('health-status').textContent = t('health.none');
      $('health-checks-details').hidden = true;
      return;
    }
    score.textContent = `${report.score}/100`;
    score.classList.add(scoreClass(report.score));
    $('health-status').textContent = `${t(`health.${report.status}`)} · ${formatDate(report.checkedAt)}`;
    const rows = (report.checks ?? []).map((check) =>
      el('tr', {}, [
        el('th', { scope: 'row', text: check.title ?? check.name }),
        el('td', {}, [
          el('span', { class: `badge outcome-${check.outcome}`, text: t(`outcome.${check.outcome}`) }),
        ]),
        el('td', { text: check.latencyMs === undefined ? '—' : `${formatCount(check.latencyMs)} ms` }),
        el('td', { text: check.detail ?? '' }),
        el('td', { text: check.outcome === 'pass' ? '' : (check.action ?? '') }),
      ]),
    );
    $('health-checks').tBodies[0].replaceChildren(...rows);
    $('health-checks-details').hidden = rows.length === 0;
  }

  function renderCounts(counts) {
    const items = STATUSES.map((status) =>
      el('li', {}, [
        el('a', { href: hrefWith({ status: [status], pages: [] }), class: 'count-link' }, [
          statusBadge(status),
          el('strong', { text: formatCount(counts?.[status] ?? 0) }),
        ]),
      ]),
    );
    $('status-counts').replaceChildren(...items);
  }

  // ---- Runs list -------------------------------------------------------------------------------------

  let lastRuns;
  let runsSeq = 0;
  let runsSignature = '';

  function renderStatusFilters(state) {
    const boxes = STATUSES.map((status) =>
      el('label', { class: 'inline' }, [
        el('input', {
          type: 'checkbox',
          name: 'status',
          value: status,
          checked: state.status.includes(status),
        }),
        el('span', { text: statusLabel(status) }),
      ]),
    );
    $('filter-statuses').replaceChildren(...boxes);
  }

  /** `<input type=datetime-local>` works in local time; the URL and the API carry ISO instants. */
  function toLocalInput(iso) {
    if (!iso) return '';
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return '';
    const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
    return local.toISOString().slice(0, 16);
  }

  function fromLocalInput(value) {
    if (!value) return '';
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? '' : date.toISOString();
  }

  function syncFilterForm(state) {
    const workflow = $('filter-workflow');
    if (state.workflow && ![...workflow.options].some((option) => option.value === state.workflow))
      workflow.append(el('option', { value: state.workflow, text: state.workflow }));
    workflow.value = state.workflow;
    for (const box of $('filter-statuses').querySelectorAll('input'))
      box.checked = state.status.includes(box.value);
    $('filter-from').value = toLocalInput(state.from);
    $('filter-to').value = toLocalInput(state.to);
    $('filter-prefix').value = state.prefix;
  }

  function filtersFromForm() {
    return {
      workflow: $('filter-workflow').value,
      status: [...$('filter-statuses').querySelectorAll('input:checked')].map((box) => box.value),
      from: fromLocalInput($('filter-from').value),
      to: fromLocalInput($('filter-to').value),
      prefix: $('filter-prefix').value.trim(),
      pages: [],
    };
  }

  // The API counts per status over the filter with its status aside; the filter's own total keeps only
  // the statuses asked for.
  const narrowsBeyondStatus = (state) => Object.keys(filterOf({ ...state, status: [] })).length > 0;

  function totalOf(counts, state) {
    return Object.entries(counts ?? {})
      .filter(([status]) => state.status.length === 0 || state.status.includes(status))
      .reduce((sum, [, n]) => sum + n, 0);
  }

  async function loadRuns(state) {
    const seq = ++runsSeq;
    const query = new URLSearchParams({ ...filterOf(state), top: String(PAGE_SIZE) });
    const token = state.pages.at(-1);
    if (token) query.set('continuation', token);
    const result = await api(`ops/runs?${query}`);
    // A newer filter was applied while this page was on its way: its answer wins.
    if (seq === runsSeq) {
      lastRuns = result;
      renderRuns(result, state);
    }
    return result;
  }

  function renderRuns(result, state) {
    const signature = JSON.stringify([lang, result, state]);
    if (signature === runsSignature) return;
    runsSignature = signature;
    const rows = (result.runs ?? []).map((run) =>
      el('tr', { class: run.id === state.run ? 'selected' : '', 'data-run-id': run.id }, [
        el('th', { scope: 'row' }, [
          el('a', { href: hrefWith({ run: run.id }), class: 'run-link', text: run.id }),
        ]),
        el('td', { text: run.workflow ?? run.name ?? '' }),
        el('td', {}, [statusBadge(run.status)]),
        el('td', { text: formatDate(run.createdAt) }),
        el('td', { text: formatDate(run.lastUpdatedAt) }),
        el('td', { text: formatSeconds(run.durationSeconds) }),
        el('td', { class: 'custom', text: shortText(run.customStatus) }),
      ]),
    );
    $('runs').tBodies[0].replaceChildren(...rows);
    $('runs-empty').hidden = rows.length > 0;
    $('runs-total').textContent = t('runs.total', { count: formatCount(totalOf(result.counts, state)) });
    $('page-prev').disabled = state.pages.length === 0;
    $('page-next').disabled = !result.continuation;
    $('page-number').textContent = t('runs.page', { number: state.pages.length + 1 });
  }

  // ---- Run detail -----------------------------------------------------------------------------------

  let runSignature = '';
  let openRunId = '';

  async function loadRun(id) {
    const path = `ops/runs/${encodeURIComponent(id)}`;
    const [run, log] = await Promise.all([api(path), api(`${path}/log`)]);
    if (readState().run !== id) return;
    const signature = JSON.stringify([lang, run, log]);
    if (signature === runSignature) return;
    runSignature = signature;
    renderRun(run, log?.entries ?? []);
  }

  function renderRun(run, entries) {
    $('run-id').textContent = run.id;
    const summary = [
      ['run.workflow', run.workflow ?? run.name],
      ['run.status', statusBadge(run.status)],
      ['run.created', formatDate(run.createdAt)],
      ['run.updated', formatDate(run.lastUpdatedAt)],
      ['run.duration', formatSeconds(run.durationSeconds)],
    ];
    $('run-summary').replaceChildren(
      ...summary.flatMap(([key, value]) => [
        el('dt', { text: t(key) }),
        el('dd', {}, [typeof value === 'object' && value !== null ? value : String(value ?? '—')]),
      ]),
    );
    const failure = $('run-failure');
    failure.hidden = !run.failure;
    failure.textContent = run.failure
      ? `${run.failure.message}${run.failure.details ? `\n${shortText(run.failure.details, 2000)}` : ''}`
      : '';
    $('run-actions').replaceChildren(
      ...(run.actions ?? []).map((action) =>
        el('button', {
          type: 'button',
          class: action === 'resume' || action === 'raise-event' ? 'secondary' : 'danger',
          text: t(`action.${action}`),
          onclick: () => confirmRunAction(run, action),
        }),
      ),
    );
    renderTimeline(run);
    renderDocuments(run.output);
    $('run-input').textContent = pretty(run.input);
    $('run-output').textContent = pretty(run.output);
    $('run-custom').textContent = pretty(run.customStatus);
    const logRows = entries.map((entry) =>
      el('tr', { class: `level-${entry.level}` }, [
        el('td', { text: formatDate(entry.at) }),
        el('td', {}, [el('span', { class: `badge level-${entry.level}`, text: t(`level.${entry.level}`) })]),
        el('td', { text: entry.step ?? '' }),
        el('td', {}, [
          el('span', { text: entry.message }),
          entry.data === undefined ? null : el('pre', { class: 'log-data', text: pretty(entry.data) }),
        ]),
      ]),
    );
    $('run-log').tBodies[0].replaceChildren(...logRows);
    $('run-log-empty').hidden = logRows.length > 0;
  }

  /** One row per step with a bar placed on the run's own time span (widths set through CSSOM, CSP-safe). */
  function renderTimeline(run) {
    const steps = run.timeline ?? [];
    const time = (value) => (value ? new Date(value).getTime() : NaN);
    const starts = steps.map((step) => time(step.scheduledAt)).filter(Number.isFinite);
    const origin = Number.isFinite(time(run.createdAt)) ? time(run.createdAt) : Math.min(...starts);
    const ends = steps.map((step) => time(step.completedAt)).filter(Number.isFinite);
    const end = Math.max(origin + 1, time(run.lastUpdatedAt) || 0, ...ends, ...starts);
    const span = end - origin;
    const rows = steps.map((step) => {
      const start = time(step.scheduledAt);
      const stop = Number.isFinite(time(step.completedAt)) ? time(step.completedAt) : end;
      const bar = el('span', { class: `bar outcome-${step.outcome ?? 'running'}` });
      bar.style.marginLeft = `${Math.max(0, ((start - origin) / span) * 100)}%`;
      bar.style.width = `${Math.max(0.5, ((stop - start) / span) * 100)}%`;
      const name = step.instanceId
        ? el('a', { href: hrefWith({ run: step.instanceId }), text: step.name })
        : el('span', { text: step.name });
      return el('tr', {}, [
        el('td', { text: t(`kind.${step.kind}`) }),
        el('th', { scope: 'row' }, [
          name,
          step.reason ? el('span', { class: 'field-error step-reason', text: step.reason }) : null,
        ]),
        el('td', { text: Number.isFinite(start) ? `+${formatMs(start - origin)}` : '—' }),
        el('td', { text: formatMs(step.durationMs) }),
        el('td', {}, [
          el('span', {
            class: `badge outcome-${step.outcome ?? 'running'}`,
            text: t(`outcome.${step.outcome ?? 'running'}`),
          }),
        ]),
        el('td', { class: 'bar-col' }, [el('span', { class: 'track' }, [bar])]),
      ]);
    });
    $('run-timeline').tBodies[0].replaceChildren(...rows);
    $('run-timeline-empty').hidden = rows.length > 0;
  }

  /** A documents batch lists its files; each summary is read through the API (it needs the key). */
  function renderDocuments(output) {
    const files = output && Array.isArray(output.files) ? output.files : [];
    $('run-documents').hidden = files.length === 0;
    $('run-documents-list').replaceChildren(
      ...files.map((file) => {
        const body = el('div', { class: 'summary-body' });
        const item = el('li', {}, [
          el('strong', { text: file.name }),
          ' ',
          el('span', { class: `badge outcome-${file.outcome}`, text: t(`outcome.${file.outcome}`) }),
          file.error
            ? el('span', { class: 'field-error', text: ` ${file.error.message} (${file.error.code})` })
            : null,
          file.summaryUrl
            ? el('button', {
                type: 'button',
                class: 'secondary small',
                text: t('documents.read'),
                onclick: () => showSummary(file.summaryUrl, body).catch(notifyError),
              })
            : null,
          body,
        ]);
        return item;
      }),
    );
  }

  async function showSummary(summaryUrl, target) {
    const url = new URL(summaryUrl, location.href);
    // The key goes to this app only.
    if (url.origin !== location.origin) throw new ApiError(0, 'foreign_url', t('documents.foreign'));
    const summary = await api(url.pathname + url.search);
    const facts = [
      summary.language ? `${t('documents.language')} : ${summary.language}` : '',
      summary.characters !== undefined
        ? `${formatCount(summary.characters)} ${t('documents.characters')}`
        : '',
      summary.pages !== undefined ? `${formatCount(summary.pages)} ${t('documents.pages')}` : '',
    ].filter(Boolean);
    target.replaceChildren(
      el('p', { text: summary.summary }),
      el(
        'ul',
        {},
        (summary.keyPoints ?? []).map((point) => el('li', { text: point })),
      ),
      el('p', { class: 'muted', text: facts.join(' · ') }),
    );
  }

  async function applyRunState(state) {
    const detail = $('run-detail');
    if (!state.run) {
      detail.hidden = true;
      openRunId = '';
      return;
    }
    const opening = state.run !== openRunId;
    openRunId = state.run;
    if (opening) {
      runSignature = '';
      $('run-id').textContent = state.run;
      for (const id of ['run-summary', 'run-actions', 'run-documents-list']) $(id).replaceChildren();
      for (const table of ['run-timeline', 'run-log']) $(table).tBodies[0].replaceChildren();
      for (const id of ['run-input', 'run-output', 'run-custom']) $(id).textContent = '';
      $('run-failure').hidden = true;
    }
    detail.hidden = false;
    if (opening) {
      detail.scrollIntoView({ block: 'start' });
      $('run-title').focus({ preventScroll: true });
    }
    await loadRun(state.run);
  }

  // ---- Confirmation dialog --------------------------------------------------------------------------

  /**
   * Asks before acting. `run(values)` does the work; its error stays in the dialog (a 409 says why), and
   * the dialog closes once it succeeds.
   */
  function confirmDialog({ title, text, fields = [], run }) {
    const dialog = $('confirm');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    const error = $('confirm-error');
    error.hidden = true;
    const inputs = fields.map((field) => {
      const id = `confirm-field-${field.name}`;
      const input =
        field.type === 'textarea'
          ? el('textarea', { id, name: field.name, rows: 4, required: field.required })
          : el('input', { id, name: field.name, type: 'text', required: field.required });
      return {
        field,
        input,
        wrapper: el('div', { class: 'field' }, [el('label', { for: id, text: field.label }), input]),
      };
    });
    $('confirm-fields').replaceChildren(...inputs.map((entry) => entry.wrapper));
    const form = $('confirm-form');
    const ok = $('confirm-ok');
    ok.disabled = false;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (value) => {
        if (settled) return;
        settled = true;
        form.onsubmit = null;
        $('confirm-cancel').onclick = null;
        dialog.onclose = null;
        if (dialog.open) dialog.close();
        resolve(value);
      };
      form.onsubmit = async (event) => {
        event.preventDefault();
        const values = Object.fromEntries(inputs.map(({ field, input }) => [field.name, input.value.trim()]));
        ok.disabled = true;
        try {
          finish(await run(values));
        } catch (failure) {
          error.textContent = failure instanceof Error ? failure.message : String(failure);
          error.hidden = false;
          ok.disabled = false;
        }
      };
      $('confirm-cancel').onclick = () => finish(undefined);
      dialog.onclose = () => finish(undefined);
      dialog.showModal();
      (inputs[0]?.input ?? $('confirm-cancel')).focus();
    });
  }

  async function confirmRunAction(run, action) {
    const fields =
      action === 'raise-event'
        ? [
            { name: 'name', label: t('confirm.eventName'), required: true },
            { name: 'data', label: t('confirm.eventData'), type: 'textarea' },
          ]
        : [{ name: 'reason', label: t('confirm.reason') }];
    const result = await confirmDialog({
      title: t(`action.${action}`),
      text: t('confirm.run', { action: t(`action.${action}`).toLowerCase(), id: run.id }),
      fields,
      run: (values) => {
        let body = values.reason ? { reason: values.reason } : {};
        if (action === 'raise-event') {
          let data = null;
          if (values.data) {
            try {
              data = JSON.parse(values.data);
            } catch {
              throw new Error(t('confirm.badJson'));
            }
          }
          body = { name: values.name, data };
        }
        return api(`ops/runs/${encodeURIComponent(run.id)}/${action}`, { method: 'POST', body });
      },
    });
    if (!result) return;
    if (result.newId) notify(t('notice.restarted', { id: result.newId }), { runId: result.newId });
    else notify(t('notice.actionDone', { action: t(`action.${action}`), id: run.id }));
    runSignature = '';
    await refresh();
  }

  // ---- Starting runs ----------------------------------------------------------------------------------

  async function startRun(workflow, parameters) {
    const started = await api('ops/runs', { method: 'POST', body: { workflow, parameters } });
    notify(t('notice.started', { workflow, id: started.id }), { runId: started.id });
    await refresh();
    return started;
  }

  function fieldFor(workflowName, name, schema, required) {
    const id = `wf-${workflowName}-${name}`.replace(/[^\w-]/g, '_');
    const hintId = `${id}-hint`;
    const errorId = `${id}-error`;
    // The server describes each parameter in the page's language: that is its label, the name a detail.
    const caption = () => [
      schema.title ?? schema.description ?? name,
      ' ',
      el('code', { class: 'muted', text: name }),
    ];
    const hintText = schema.title && schema.description ? schema.description : '';
    const describedBy = [hintText ? hintId : '', errorId].filter(Boolean).join(' ');
    const common = { id, name, 'aria-describedby': describedBy, required: required || undefined };
    let input;
    let read;
    const type = Array.isArray(schema.type) ? schema.type.find((kind) => kind !== 'null') : schema.type;
    if (type === 'boolean') {
      input = el('input', {
        ...common,
        type: 'checkbox',
        checked: schema.default === true,
        required: undefined,
      });
      read = () => input.checked;
    } else if (type === 'integer' || type === 'number') {
      input = el('input', {
        ...common,
        type: 'number',
        inputmode: type === 'integer' ? 'numeric' : 'decimal',
        step: type === 'integer' ? 1 : 'any',
        min: schema.minimum,
        max: schema.maximum,
        value: schema.default === undefined ? '' : String(schema.default),
      });
      read = () => (input.value === '' ? undefined : Number(input.value));
    } else if (type === 'string' && Array.isArray(schema.enum)) {
      input = el(
        'select',
        common,
        [required ? null : el('option', { value: '', text: '—' })].concat(
          schema.enum.map((option) =>
            el('option', { value: option, text: option, selected: option === schema.default }),
          ),
        ),
      );
      read = () => input.value || undefined;
    } else if (type === 'array' && Array.isArray(schema.items?.enum)) {
      // A closed list: one checkbox per choice, in a fieldset that takes the label's place.
      const chosen = Array.isArray(schema.default) ? schema.default : [];
      const boxes = schema.items.enum.map((option) =>
        el('input', { type: 'checkbox', name, value: option, checked: chosen.includes(option) }),
      );
      input = el('fieldset', { id, tabindex: -1, 'aria-describedby': describedBy }, [
        el('legend', {}, caption()),
        ...boxes.map((box) => el('label', { class: 'inline' }, [box, el('span', { text: box.value })])),
      ]);
      read = () => {
        const items = boxes.filter((box) => box.checked).map((box) => box.value);
        return items.length || required ? items : undefined;
      };
    } else if (type === 'array') {
      input = el('textarea', {
        ...common,
        rows: 3,
        value: Array.isArray(schema.default) ? schema.default.join('\n') : '',
      });
      read = () => {
        const items = input.value
          .split(/[\n,]/)
          .map((item) => item.trim())
          .filter(Boolean);
        return items.length || required ? items : undefined;
      };
    } else {
      input = el('input', {
        ...common,
        type: 'text',
        minlength: schema.minLength,
        maxlength: schema.maxLength,
        pattern: schema.pattern,
        value: typeof schema.default === 'string' ? schema.default : '',
      });
      read = () => input.value.trim() || undefined;
    }
    const label = el('label', { for: id }, caption());
    const hint = hintText ? el('span', { id: hintId, class: 'hint', text: hintText }) : null;
    const error = el('span', { id: errorId, class: 'field-error', hidden: true });
    let wrapper;
    if (type === 'boolean')
      wrapper = el('div', { class: 'field check' }, [
        el('span', { class: 'inline' }, [input, label]),
        hint,
        error,
      ]);
    else if (input.tagName === 'FIELDSET') wrapper = el('div', { class: 'field' }, [input, hint, error]);
    else wrapper = el('div', { class: 'field' }, [label, input, hint, error]);
    return { name, input, read, error, wrapper };
  }

  /** The property a server error names: `olderThanDays`, `parameters.olderThanDays` or `parameters/0`. */
  function namedField(error, fields) {
    const candidates = [error.field, (error.message ?? '').split(':')[0]].filter(Boolean);
    for (const candidate of candidates) {
      const found = fields.find((field) =>
        String(candidate)
          .split(/[./[\]]/)
          .includes(field.name),
      );
      if (found) return found;
    }
    return undefined;
  }

  function workflowForm(workflow) {
    const properties = workflow.parameters?.properties ?? {};
    const required = workflow.parameters?.required ?? [];
    const fields = Object.entries(properties).map(([name, schema]) =>
      fieldFor(workflow.name, name, schema, required.includes(name)),
    );
    const formError = el('p', { class: 'field-error', role: 'alert', hidden: true });
    const submit = el('button', { type: 'submit', text: t('workflows.start') });
    const form = el('form', { class: 'workflow-form', 'data-workflow': workflow.name, novalidate: true }, [
      ...fields.map((field) => field.wrapper),
      formError,
      submit,
    ]);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      for (const field of fields) {
        field.error.hidden = true;
        field.input.removeAttribute('aria-invalid');
      }
      formError.hidden = true;
      const parameters = {};
      for (const field of fields) {
        const value = field.read();
        if (value !== undefined) parameters[field.name] = value;
      }
      submit.disabled = true;
      try {
        await startRun(workflow.name, parameters);
      } catch (error) {
        const field =
          error instanceof ApiError && error.status === 400 ? namedField(error, fields) : undefined;
        const target = field ? field.error : formError;
        target.textContent = error.message;
        target.hidden = false;
        if (field) {
          field.input.setAttribute('aria-invalid', 'true');
          field.input.focus();
        }
      } finally {
        submit.disabled = false;
      }
    });
    return el('details', { class: 'workflow' }, [
      el('summary', {}, [
        el('strong', { text: workflow.title ?? workflow.name }),
        el('code', { text: workflow.name }),
      ]),
      workflow.description ? el('p', { class: 'muted', text: workflow.description }) : null,
      form,
    ]);
  }

  async function loadWorkflows() {
    const [startable, all] = await Promise.all([api('ops/workflows'), api('ops/workflows?all=true')]);
    $('workflow-forms').replaceChildren(
      ...(startable ?? []).filter((workflow) => workflow.startable !== false).map(workflowForm),
    );
    const select = $('filter-workflow');
    const current = readState().workflow;
    select.replaceChildren(
      el('option', { value: '', text: t('runs.all') }),
      ...(all ?? []).map((workflow) =>
        el('option', {
          value: workflow.name,
          text:
            workflow.title && workflow.title !== workflow.name
              ? `${workflow.title} (${workflow.name})`
              : workflow.name,
        }),
      ),
    );
    if (current && ![...select.options].some((option) => option.value === current))
      select.append(el('option', { value: current, text: current }));
    select.value = current;
  }

  // ---- Bulk actions -----------------------------------------------------------------------------------

  function describeFilter(state) {
    const parts = [];
    if (state.workflow) parts.push(`${t('runs.workflow')} = ${state.workflow}`);
    if (state.status.length) parts.push(`${t('runs.status')} = ${state.status.map(statusLabel).join(', ')}`);
    if (state.from) parts.push(`${t('runs.from')} ${formatDate(state.from)}`);
    if (state.to) parts.push(`${t('runs.to')} ${formatDate(state.to)}`);
    if (state.prefix) parts.push(`${t('runs.prefix')} « ${state.prefix} »`);
    return parts.length ? parts.join(' ; ') : t('bulk.noFilter');
  }

  async function confirmBulk() {
    const state = readState();
    const action = $('bulk-action').value;
    // Counts of this very filter, fresh: the number the user confirms is the number acted on.
    const fresh = await api(`ops/runs?${new URLSearchParams({ ...filterOf(state), top: '1' })}`);
    const count = totalOf(fresh.counts, state);
    if (count === 0) {
      notify(t('bulk.none'));
      return;
    }
    const report = await confirmDialog({
      title: t('bulk.title', { action: t(`action.${action}`) }),
      text: t('bulk.confirm', {
        action: t(`action.${action}`).toLowerCase(),
        count: formatCount(count),
        filter: describeFilter(state),
      }),
      run: () => api('ops/runs/bulk', { method: 'POST', body: { action, filter: filterOf(state) } }),
    });
    if (!report) return;
    const box = $('bulk-report');
    const problems = [...(report.failed ?? []), ...(report.skipped ?? [])].slice(0, 20);
    box.replaceChildren(
      el('p', {
        text: t('bulk.report', {
          action: t(`action.${action}`),
          matched: formatCount(report.matched),
          done: formatCount(report.done),
          skipped: formatCount(report.skipped?.length ?? 0),
          failed: formatCount(report.failed?.length ?? 0),
        }),
      }),
      problems.length
        ? el(
            'ul',
            {},
            problems.map((problem) => el('li', { text: `${problem.id} : ${problem.reason}` })),
          )
        : null,
    );
    box.hidden = false;
    await refresh();
  }

  // ---- Metrics ----------------------------------------------------------------------------------------

  const charts = [];

  function chartWidth(container) {
    return Math.max(260, container.clientWidth || 600);
  }

  function emptyChart(container) {
    container.replaceChildren(el('p', { class: 'muted', text: t('metrics.noData') }));
  }

  function renderCharts(metrics) {
    while (charts.length) charts.pop().destroy();
    const workflowsBox = $('chart-workflows');
    const healthBox = $('chart-health');
    workflowsBox.replaceChildren();
    healthBox.replaceChildren();
    const names = Object.keys(metrics.workflows ?? {});
    if (names.length === 0) emptyChart(workflowsBox);
    else {
      const xs = names.map((_, index) => index);
      const runs = names.map((name) => metrics.workflows[name].runs ?? 0);
      const rates = names.map((name) => {
        const rate = metrics.workflows[name].successRate;
        return typeof rate === 'number' ? Math.round(rate * 1000) / 10 : null;
      });
      charts.push(
        new uPlot(
          {
            width: chartWidth(workflowsBox),
            height: 240,
            legend: { live: false },
            scales: {
              x: { time: false, range: [-0.5, names.length - 0.5] },
              y: { range: (_, __, max) => [0, Math.max(1, Math.ceil(max * 1.1))] },
              pct: { range: [0, 100] },
            },
            axes: [
              { splits: () => xs, values: (_, splits) => splits.map((index) => names[index] ?? '') },
              // Whole runs only.
              {
                label: t('metrics.runs'),
                incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000],
              },
              { scale: 'pct', side: 1, label: t('metrics.successRate'), grid: { show: false } },
            ],
            series: [
              { label: t('runs.workflow'), value: (_, index) => names[index] ?? '' },
              {
                label: t('metrics.runs'),
                stroke: '#1f5fa8',
                fill: 'rgba(31, 95, 168, 0.35)',
                paths: uPlot.paths.bars({ size: [0.6, 80] }),
                points: { show: false },
              },
              {
                label: t('metrics.successRate'),
                scale: 'pct',
                stroke: '#2e7d32',
                // One point per workflow: a line between two workflows would mean nothing.
                paths: () => null,
                points: { show: true, size: 9, fill: '#2e7d32' },
              },
            ],
          },
          [xs, runs, rates],
          workflowsBox,
        ),
      );
    }
    const history = (metrics.health ?? [])
      .filter((point) => Number.isFinite(new Date(point.at).getTime()))
      .sort((a, b) => new Date(a.at).getTime() - new Date(b.at).getTime());
    if (history.length === 0) emptyChart(healthBox);
    else {
      const seconds = (value) => new Date(value).getTime() / 1000;
      const first = seconds(history[0].at);
      const last = seconds(history.at(-1).at);
      const period = [
        Math.min(first, Number.isFinite(seconds(metrics.from)) ? seconds(metrics.from) : first),
        Math.max(last, Number.isFinite(seconds(metrics.to)) ? seconds(metrics.to) : last),
      ];
      if (period[1] - period[0] < 3600) period[0] = period[1] - 3600;
      const timeLabel = new Intl.DateTimeFormat(
        lang,
        period[1] - period[0] <= 2 * 86_400
          ? { hour: '2-digit', minute: '2-digit' }
          : { day: 'numeric', month: 'short' },
      );
      charts.push(
        new uPlot(
          {
            width: chartWidth(healthBox),
            height: 240,
            legend: { live: false },
            // The whole period, in the page's language, even when it holds a single check.
            scales: { x: { range: () => period }, y: { range: [0, 100] } },
            axes: [
              { values: (_, splits) => splits.map((at) => timeLabel.format(new Date(at * 1000))) },
              { label: t('metrics.score') },
            ],
            series: [
              {},
              {
                label: t('metrics.score'),
                stroke: '#b45309',
                width: 2,
                points: { show: history.length < 60 },
              },
            ],
          },
          [history.map((point) => new Date(point.at).getTime() / 1000), history.map((point) => point.score)],
          healthBox,
        ),
      );
    }
  }

  function renderMetrics(metrics) {
    const headlines = metrics.headlines ?? {};
    $('headlines').replaceChildren(
      ...['dossiersGenerated', 'mailsAnswered', 'postsPublished', 'callsHandled'].map((key) =>
        el('li', { class: 'card headline' }, [
          el('strong', { text: formatCount(headlines[key]) }),
          el('span', { text: t(`metrics.${key}`) }),
        ]),
      ),
    );
    const percent = numberFormat({ style: 'percent', maximumFractionDigits: 1 });
    $('metrics-workflows').tBodies[0].replaceChildren(
      ...Object.entries(metrics.workflows ?? {}).map(([name, figures]) =>
        el('tr', {}, [
          el('th', { scope: 'row', text: name }),
          el('td', { text: formatCount(figures.runs) }),
          el('td', { text: formatCount(figures.failed) }),
          el('td', {
            text: typeof figures.successRate === 'number' ? percent.format(figures.successRate) : '—',
          }),
          el('td', { text: formatSeconds(figures.durationP50Seconds) }),
          el('td', { text: formatSeconds(figures.durationP95Seconds) }),
          el('td', {
            text: Object.entries(figures.errors ?? {})
              .map(([type, n]) => `${type} × ${n}`)
              .join(', '),
          }),
        ]),
      ),
    );
    const usd = numberFormat({ style: 'currency', currency: 'USD', maximumFractionDigits: 4 });
    $('metrics-ai').tBodies[0].replaceChildren(
      ...Object.entries(metrics.ai?.byModel ?? {}).map(([model, figures]) =>
        el('tr', {}, [
          el('th', { scope: 'row', text: model }),
          el('td', { text: formatCount(figures.calls) }),
          el('td', { text: formatCount(figures.promptTokens) }),
          el('td', { text: formatCount(figures.completionTokens) }),
          el('td', { text: usd.format(figures.costUsd ?? 0) }),
        ]),
      ),
    );
    renderCharts(metrics);
  }

  // Metrics read every run of the period: they follow the page's refresh at a slower pace.
  const METRICS_REFRESH_MS = 60_000;
  let loadedPeriod = '';
  let metricsLoadedAt = 0;

  async function loadMetrics(period) {
    loadedPeriod = period;
    metricsLoadedAt = Date.now();
    const to = new Date();
    const from = new Date(to.getTime() - Number(period) * 86_400_000);
    const metrics = await api(
      `ops/metrics?${new URLSearchParams({ from: from.toISOString(), to: to.toISOString() })}`,
    );
    if (readState().period === period) renderMetrics(metrics);
  }

  // ---- Refresh loop -----------------------------------------------------------------------------------

  let timer;
  let running;

  function stopRefresh() {
    clearTimeout(timer);
    timer = undefined;
  }

  function scheduleRefresh() {
    stopRefresh();
    if ($('auto-refresh').checked && document.visibilityState === 'visible' && hasKey())
      timer = setTimeout(() => void refresh().finally(scheduleRefresh), REFRESH_MS);
  }

  /** Status cards, the current page of runs and the open run; one at a time. */
  function refresh() {
    if (running) return running;
    running = (async () => {
      if (!hasKey()) return;
      const state = readState();
      const tasks = [
        api('ops/health').then((result) => renderHealth(result?.report ?? null)),
        loadRuns(state).then(async (result) => {
          // The cards count every run, whatever the list's filter.
          const counts = narrowsBeyondStatus(state)
            ? (await api(`ops/runs?${new URLSearchParams({ top: '1' })}`)).counts
            : result.counts;
          renderCounts(counts ?? {});
        }),
      ];
      if (state.run) tasks.push(loadRun(state.run));
      if (Date.now() - metricsLoadedAt >= METRICS_REFRESH_MS) tasks.push(loadMetrics(state.period));
      const outcomes = await Promise.allSettled(tasks);
      const failed = outcomes.find((outcome) => outcome.status === 'rejected');
      if (failed) notifyError(failed.reason);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  let appliedHash;

  /** Brings the page in line with the URL: form controls, the runs page, the open run, the metrics. */
  async function applyState() {
    if (location.hash === appliedHash) return;
    appliedHash = location.hash;
    const state = readState();
    syncFilterForm(state);
    $('metrics-period').value = state.period;
    if (!hasKey()) return;
    const tasks = [loadRuns(state), applyRunState(state)];
    if (state.period !== loadedPeriod) tasks.push(loadMetrics(state.period));
    const outcomes = await Promise.allSettled(tasks);
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) notifyError(failed.reason);
  }

  async function loadAll() {
    appliedHash = undefined;
    loadedPeriod = '';
    runsSignature = '';
    runSignature = '';
    const outcomes = await Promise.allSettled([loadWorkflows(), applyState(), refresh()]);
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) notifyError(failed.reason);
    scheduleRefresh();
  }

  // ---- Wiring -----------------------------------------------------------------------------------------

  function wire() {
    $('key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const key = $('key-input').value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY_STORAGE, key);
      $('key-input').value = '';
      $('notice').hidden = true;
      showKeyState();
      void loadAll();
    });
    $('key-forget').addEventListener('click', () => {
      forgetKey();
      $('key-input').focus();
    });
    $('lang-toggle').addEventListener('click', () => {
      lang = lang === 'fr' ? 'en' : 'fr';
      localStorage.setItem(LANG_STORAGE, lang);
      $('notice').hidden = true;
      translatePage();
      syncFilterForm(readState());
      if (hasKey()) void loadAll();
    });

    $('filters').addEventListener('submit', (event) => {
      event.preventDefault();
      navigate(filtersFromForm());
    });
    // Lists and dates apply at once; the prefix applies when the field is left or Enter is pressed.
    $('filters').addEventListener('change', () => navigate(filtersFromForm()));
    $('filter-clear').addEventListener('click', () =>
      navigate({ workflow: '', status: [], from: '', to: '', prefix: '', pages: [] }),
    );
    $('page-next').addEventListener('click', () => {
      if (lastRuns?.continuation) navigate({ pages: [...readState().pages, lastRuns.continuation] });
    });
    $('page-prev').addEventListener('click', () => navigate({ pages: readState().pages.slice(0, -1) }));
    $('run-close').addEventListener('click', () => {
      navigate({ run: '' });
      $('runs-title').scrollIntoView({ block: 'start' });
    });
    $('metrics-period').addEventListener('change', () => navigate({ period: $('metrics-period').value }));

    const auto = $('auto-refresh');
    auto.checked = localStorage.getItem(REFRESH_STORAGE) !== 'off';
    auto.addEventListener('change', () => {
      localStorage.setItem(REFRESH_STORAGE, auto.checked ? 'on' : 'off');
      scheduleRefresh();
    });
    $('refresh').addEventListener('click', () => {
      void Promise.all([loadMetrics(readState().period).catch(notifyError), refresh()]);
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && auto.checked && hasKey())
        void refresh().finally(scheduleRefresh);
      else stopRefresh();
    });

    for (const button of document.querySelectorAll('[data-quick]')) {
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          await startRun(button.dataset.quick, QUICK_PARAMETERS[button.dataset.quick]);
        } catch (error) {
          notifyError(error);
        } finally {
          button.disabled = false;
        }
      });
    }
    $('upload-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const input = $('upload-files');
      if (!input.files.length) return;
      const form = new FormData();
      for (const file of input.files) form.append('file', file, file.name);
      try {
        const started = await api('ops/documents', { method: 'POST', form });
        input.value = '';
        notify(t('notice.documents', { count: form.getAll('file').length, batchId: started.batchId }), {
          runId: started.id,
        });
        await refresh();
      } catch (error) {
        notifyError(error);
      }
    });
    $('bulk-form').addEventListener('submit', (event) => {
      event.preventDefault();
      confirmBulk().catch(notifyError);
    });

    // Back, Forward, a pasted link, or a run link clicked in the page.
    window.addEventListener('popstate', () => void applyState());
    window.addEventListener('hashchange', () => void applyState());
    let resizeTimer;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        for (const chart of charts)
          chart.setSize({ width: chartWidth(chart.root.parentElement), height: 240 });
      }, 150);
    });
  }

  translatePage();
  wire();
  showKeyState();
  syncFilterForm(readState());
  if (hasKey()) void loadAll();
})();
