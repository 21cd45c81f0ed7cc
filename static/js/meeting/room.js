// The live meeting room (templates/meetings/meeting_room.html).
//
// The server renders the page (agenda, the shown theme, the plan's fields) with every
// field read-only; this script connects the socket, takes the snapshot as the truth,
// makes the fields editable as far as the person's access allows and keeps everything
// live: the text fields through OT (binding.js/textfield.js), scalars and structure
// through the store (store.js), the agenda through the meeting state.
//
// Accessibility: everything works by keyboard (buttons, links, native controls; focus
// is kept or moved on purpose when content changes), connection state and other
// people's changes are announced politely, highlights carry text, not colour alone.

import { TextBinding } from './binding.js';
import { Announcer, flash } from './announce.js';
import { Connection } from './connection.js';
import {
  cloneTemplate,
  controlValue,
  excerpt,
  labelOf,
  reconcile,
  setControlValue,
  setOptions,
} from './dom.js';
import { bindCourses } from './courses.js';
import { loadStrings, t } from './i18n.js';
import { find, group, isTextField, parseKey } from './state.js';
import { LiveStore } from './store.js';
import { UndoManager } from './undo.js';

const FOLLOW_GRACE_MS = 2000; // don't pull the theme away from under someone typing
const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function sessionStore() {
  try {
    const s = window.sessionStorage;
    s.setItem('ipplan.probe', '1');
    s.removeItem('ipplan.probe');
    return s;
  } catch {
    return null;
  }
}

class Room {
  constructor(config) {
    this.config = config;
    this.root = $('#room');
    this.panel = $('#theme-panel');
    this.shownTheme = config.shownTheme;
    this.following = config.following;
    this.bindings = new Map(); // element -> TextBinding
    this.lastTyped = 0;
    this.followTimer = null;
    this.meetingTheme = null;
    this.lastState = null;
    this.everLive = false;
    this.resuming = false;
    this.announcer = new Announcer($('#announcer'));
    this.store = new LiveStore({
      planId: config.plan,
      userId: config.user.id,
      send: (msg) => this.conn.send(msg),
      storage: sessionStore(),
    });
    this.undo = new UndoManager(this.store, { onChange: () => this.updateUndoButtons() });
    this.conn = new Connection(() => this.socketUrl(), {
      onOpen: () => {
        this.store.connected({ resuming: this.resuming });
        this.updateConnection();
      },
      onMessage: (msg) => this.store.handle(msg),
      onState: () => this.updateConnection(),
      onClose: () => {
        this.store.disconnected();
        this.updateConnection();
      },
    });
    this.listenToStore();
    bindCourses(this.store, $('#room-courses'));
    this.listenToPage();
    $('#follow').checked = this.following;
    this.conn.start();
  }

  socketUrl() {
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    const since = this.store.resumeFrom;
    this.resuming = since !== null;
    const resume = since !== null ? `&since=${since}` : '';
    return `${scheme}//${window.location.host}${this.config.socket}${resume}`;
  }

  get state() {
    return this.store.state;
  }

  // ------------------------------------------------------------------- store events

  listenToStore() {
    const s = this.store;
    s.on('snapshot', () => {
      this.renderAll();
      this.updateConnection();
    });
    s.on('text', (e) => {
      this.textChanged(e.key);
      if (e.own || e.quiet || !e.user || e.user.id === this.config.user.id) return;
      this.remoteChange(e.key, e.user, true);
    });
    s.on('localtext', (e) => this.textChanged(e.key));
    s.on('field', (e) => {
      for (const el of this.controls(e.key)) setControlValue(el, e.value);
      if (e.field === 'responsible') this.renderPanel(); // may change who can edit the measure
      if (!e.own && e.user && e.user.id !== this.config.user.id) this.remoteChange(e.key, e.user, false);
    });
    s.on('structure', (e) => this.structureChanged(e));
    s.on('meeting', () => this.renderMeeting(true));
    s.on('presence', () => this.renderPresence());
    s.on('you', () => this.renderPermissions());
    s.on('pending', () => this.updateConnection());
    s.on('error', (e) => this.showError(e));
    s.on('lost', (e) => this.showLost(e));
    s.on('restored', (n) => this.announcer.say(t('restored_pending', { n })));
  }

  /** Text shown elsewhere too (theme titles in the agenda, goal names in selects). */
  textChanged(key) {
    const { target, id, field } = parseKey(key);
    if (target === 'theme' && field === 'title') {
      const title = this.store.textOf(key) || t('new_theme');
      for (const li of $$(`.agenda__item[data-theme="${id}"] .agenda__title`, this.root)) li.textContent = title;
      if (id === this.shownTheme) $('[data-theme-heading]', this.panel).textContent = title;
    } else if (target === 'goal' && field === 'text') {
      clearTimeout(this.optionsTimer);
      this.optionsTimer = setTimeout(() => this.renderGoalOptions(), 300);
    }
  }

  controls(key) {
    return $$(`[data-key="${CSS.escape(key)}"]`, this.root);
  }

  /** Someone else changed a field: highlight it briefly with their name, and say so. */
  remoteChange(key, user, typing) {
    const el = this.controls(key)[0];
    if (!el) return; // not on screen (another theme): nothing to show or say
    const field = labelOf(el);
    flash(el.closest('.lfield'), t('changed_label', { name: user.name }));
    if (typing) this.announcer.say(t('typing_in', { name: user.name, field }), { key: `${user.id}:${key}` });
    else this.announcer.say(t('changed_by', { name: user.name, field }), { key: `${user.id}:${key}:set`, every: 1500 });
  }

  structureChanged(e) {
    const { op, own, user, removed } = e;
    this.renderAgenda();
    this.renderPanel();
    if (own || !user || user.id === this.config.user.id) return;
    const obj = op.type === 'delete' ? removed : find(this.state, op.target, op.id ?? op.values?.id);
    if (!obj) return;
    const shown = op.target === 'theme' || obj.theme === this.shownTheme;
    if (!shown) return;
    const what = this.describeObject(op.target, obj);
    const key = { create: 'added_by', restore: 'added_by', delete: 'removed_by', move: 'moved_by' }[op.type];
    if (key) this.announcer.say(t(key, { name: user.name, what }));
  }

  describeObject(target, obj) {
    if (target === 'goal') return `${t('goal')} «${excerpt(obj.text)}»`;
    if (target === 'measure') return `${t('measure')} «${excerpt(obj.description)}»`;
    if (target === 'theme') return `${t('theme')} «${excerpt(obj.title)}»`;
    return target;
  }

  // ---------------------------------------------------------------------- rendering

  renderAll() {
    this.root.classList.add('room--ready');
    if (!find(this.state, 'theme', this.shownTheme)) this.shownTheme = this.meetingThemeId() ?? this.state.themes[0]?.id ?? null;
    this.renderAgenda();
    this.renderPanel();
    this.renderPlanFields();
    this.renderMeeting(false);
    this.renderPresence();
    this.renderPermissions();
  }

  meetingThemeId() {
    const m = this.store.meeting;
    if (!m || m.current_item === null) return null;
    const item = m.items.find((i) => i.id === m.current_item);
    return item ? item.theme : null;
  }

  agendaItems() {
    const m = this.store.meeting;
    if (m) return m.items.slice().sort((a, b) => a.position - b.position || a.id - b.id);
    return $$('#agenda-list > li').map((li) => ({ id: Number(li.dataset.item), theme: Number(li.dataset.theme) }));
  }

  renderAgenda() {
    if (!this.state) return;
    const items = this.agendaItems().filter((i) => find(this.state, 'theme', i.theme));
    const current = this.store.meeting ? this.store.meeting.current_item : null;
    const inProgress = this.store.meeting && this.store.meeting.status === 'in_progress';
    const agendaThemes = new Set(items.map((i) => i.theme));
    const makeItem = (themeId, itemId) => {
      const li = document.createElement('li');
      li.className = 'agenda__item';
      li.dataset.theme = String(themeId);
      if (itemId !== null) li.dataset.item = String(itemId);
      const a = document.createElement('a');
      a.className = 'agenda__link';
      a.href = `?tema=${themeId}`;
      a.dataset.showTheme = String(themeId);
      a.innerHTML = '<span class="agenda__title"></span><span class="agenda__now" data-now></span><span class="visually-hidden" data-shown-label></span>';
      li.append(a);
      return li;
    };
    const update = (li, themeId, isCurrent) => {
      const theme = find(this.state, 'theme', themeId);
      const a = li.querySelector('a');
      li.querySelector('.agenda__title').textContent = this.store.textOf(`theme:${theme.id}:title`) || t('new_theme');
      li.classList.toggle('agenda__item--current', isCurrent);
      li.classList.toggle('agenda__item--shown', themeId === this.shownTheme);
      if (isCurrent) a.setAttribute('aria-current', 'step');
      else a.removeAttribute('aria-current');
      const now = li.querySelector('[data-now]');
      if (now) now.textContent = isCurrent ? t('now') : '';
      li.querySelector('[data-shown-label]').textContent = themeId === this.shownTheme ? t('shown') : '';
    };
    reconcile($('#agenda-list'), items.map((i) => i.id), {
      attr: 'data-item',
      create: (id) => makeItem(items.find((i) => i.id === id).theme, id),
      update: (li, id) => {
        const item = items.find((i) => i.id === id);
        update(li, item.theme, inProgress && id === current);
      },
    });
    const others = group(this.state, 'theme').filter((th) => !agendaThemes.has(th.id));
    reconcile($('#other-themes'), others.map((th) => th.id), {
      attr: 'data-theme',
      create: (id) => makeItem(id, null),
      update: (li, id) => update(li, id, false),
    });
  }

  renderPanel() {
    if (!this.state) return;
    const theme = find(this.state, 'theme', this.shownTheme);
    if (!theme) {
      const fallback = this.meetingThemeId() ?? this.state.themes[0]?.id;
      if (fallback && fallback !== this.shownTheme) {
        this.shownTheme = fallback;
        this.renderPanel();
      }
      return;
    }
    this.panel.dataset.theme = String(theme.id);
    const heading = $('[data-theme-heading]', this.panel);
    if (heading) heading.textContent = this.store.textOf(`theme:${theme.id}:title`) || t('new_theme');
    let fields = $('.theme-fields', this.panel);
    if (fields && fields.dataset.id !== String(theme.id)) {
      const fresh = cloneTemplate(document, 'tpl-theme-fields', theme.id);
      fields.replaceWith(fresh);
      fields = fresh;
    }
    if (fields) this.bindWithin(fields);

    const goals = group(this.state, 'goal', theme.id);
    const measures = group(this.state, 'measure', theme.id);
    this.renderCards($('#goal-list'), 'goal', goals);
    this.renderCards($('#measure-list'), 'measure', measures);
    $('#no-goals').hidden = goals.length > 0;
    $('#no-measures').hidden = measures.length > 0;
    this.renderGoalOptions();
    const memberOptions = this.activeMembers();
    for (const select of $$('select[data-key$=":responsible"], #new-measure-responsible', this.panel)) {
      setOptions(select, memberOptions, { blank: t('none_option') });
      if (select.dataset.key) setControlValue(select, this.store.valueOf(...keyParts(select.dataset.key)));
    }
    this.renderDecision();
    this.updateFollowUi();
    this.dropDetachedBindings();
    this.renderPresence();
  }

  renderGoalOptions() {
    if (!this.state) return;
    const goals = group(this.state, 'goal', this.shownTheme);
    const options = goals.map((g) => [g.id, excerpt(this.store.textOf(`goal:${g.id}:text`), 60)]);
    for (const select of $$('select[data-key$=":goal"], #new-measure-goal', this.panel)) {
      setOptions(select, options, { blank: t('none_option') });
      if (select.dataset.key) setControlValue(select, this.store.valueOf(...keyParts(select.dataset.key)));
    }
  }

  activeMembers() {
    const day = today();
    return this.state.members
      .filter((m) => (!m.active_from || m.active_from <= day) && (!m.active_to || m.active_to >= day))
      .map((m) => [m.id, m.organisation ? `${m.name} (${m.organisation})` : m.name]);
  }

  renderCards(list, target, objects) {
    const count = objects.length;
    const active = document.activeElement;
    reconcile(list, objects.map((o) => o.id), {
      create: (id) => cloneTemplate(document, `tpl-${target}`, id),
      update: (li, id, index) => {
        li.querySelector('[data-number]').textContent = t(`${target}_n`, { n: index + 1 });
        li.querySelector('[data-action="move-up"]').disabled = index === 0;
        li.querySelector('[data-action="move-down"]').disabled = index === count - 1;
        this.bindWithin(li);
      },
      remove: (li) => this.unbindWithin(li),
    });
    // "Move up" on the card that just became first is disabled and has lost focus:
    // keep the person on the card ("move down", else its heading).
    if (active && active.isConnected && active.disabled && list.contains(active)) {
      const card = active.closest('[data-object]');
      const other = card.querySelector('[data-action^="move-"]:not(:disabled)');
      (other || card.querySelector('.lcard__title')).focus();
    }
  }

  renderPlanFields() {
    this.bindWithin($('.plan-fields'));
  }

  /** Connect every live control inside `root` to the store, and set what may be edited. */
  bindWithin(root) {
    for (const el of $$('[data-key]', root)) {
      const { target, id, field } = parseKey(el.dataset.key);
      const obj = find(this.state, target, id);
      const editable = Boolean(obj) && this.canEdit(target, obj);
      if (isTextField(target, field)) {
        if (!this.bindings.has(el)) this.bindings.set(el, new TextBinding(el, this.store, el.dataset.key));
        el.readOnly = !editable;
      } else {
        el.disabled = !editable;
        if (document.activeElement !== el || el.tagName === 'SELECT') setControlValue(el, this.store.valueOf(target, id, field));
      }
    }
  }

  unbindWithin(root) {
    for (const el of $$('[data-key]', root)) {
      const binding = this.bindings.get(el);
      if (binding) {
        binding.destroy();
        this.bindings.delete(el);
      }
    }
  }

  dropDetachedBindings() {
    for (const [el, binding] of this.bindings) {
      if (!el.isConnected) {
        binding.destroy();
        this.bindings.delete(el);
      }
    }
  }

  canEdit(target, obj) {
    const you = this.store.you;
    if (!you || !this.state || this.state.status === 'closed') return false;
    if (you.can_edit) return target !== 'member';
    return target === 'measure' && you.can_comment && you.member !== null && obj && obj.responsible === you.member;
  }

  renderPermissions() {
    if (!this.state) return;
    const canEdit = Boolean(this.store.you && this.store.you.can_edit) && this.state.status !== 'closed';
    for (const el of $$('[data-edit-only]', this.root)) el.hidden = !canEdit;
    this.bindWithin(this.root);
    this.renderDecision();
  }

  renderDecision() {
    const box = $('#decision-field');
    if (!box) return;
    const m = this.store.meeting;
    const item = m ? m.items.find((i) => i.theme === this.shownTheme) : null;
    box.hidden = !item;
    if (!item) return;
    const el = $('#decision');
    el.dataset.item = String(item.id);
    el.readOnly = !(m.status === 'in_progress' && this.store.you && this.store.you.can_edit);
    if (document.activeElement !== el && el.value !== item.decision) {
      const changed = el.value !== '' || item.decision !== '';
      el.value = item.decision;
      if (changed && this.decisionSeen !== undefined && this.decisionSeen !== item.decision) flash(box, '');
    }
    this.decisionSeen = item.decision;
  }

  renderPresence() {
    const list = $('#presence-list');
    if (!list) return;
    const users = [];
    const seen = new Set();
    for (const u of this.store.presence) {
      if (seen.has(u.id)) continue;
      seen.add(u.id);
      users.push(u);
    }
    list.replaceChildren(
      ...users.map((u) => {
        const li = document.createElement('li');
        li.className = 'presence__user';
        const name = document.createElement('span');
        name.className = 'presence__name';
        name.textContent = u.id === this.config.user.id ? `${u.name} (${t('you')})` : u.name;
        li.append(name);
        const where = u.focus ? this.controls(u.focus)[0] : null;
        if (where && u.id !== this.config.user.id) {
          const small = document.createElement('span');
          small.className = 'presence__where';
          small.textContent = labelOf(where);
          li.append(' ', small);
        }
        return li;
      }),
    );
    if (users.length <= 1) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = t('nobody');
      list.append(li);
    }
    // On each field: who else is in it now.
    const byKey = new Map();
    for (const u of users) {
      if (!u.focus || u.id === this.config.user.id) continue;
      if (!byKey.has(u.focus)) byKey.set(u.focus, []);
      byKey.get(u.focus).push(u.name);
    }
    for (const el of $$('[data-key]', this.root)) {
      const wrapper = el.closest('.lfield');
      const editors = wrapper && wrapper.querySelector('[data-editors]');
      if (!editors) continue;
      const names = byKey.get(el.dataset.key);
      editors.textContent = names ? t('editing', { names: names.join(', ') }) : '';
      wrapper.classList.toggle('lfield--others', Boolean(names));
    }
  }

  renderMeeting(live) {
    const m = this.store.meeting;
    if (!m) return;
    const badge = $('#meeting-status');
    const before = this.root.dataset.status;
    if (badge) {
      badge.textContent = t(`status_${m.status}`);
      badge.className = `badge badge--${m.status}`;
    }
    this.root.dataset.status = m.status;
    const startForm = $('#start-form');
    if (startForm) startForm.hidden = m.status !== 'planned';
    const liveControls = $('#live-controls');
    if (liveControls) liveControls.hidden = m.status !== 'in_progress';
    const notStarted = $('#not-started');
    if (notStarted) notStarted.hidden = m.status !== 'planned';
    $('#meeting-closed').hidden = m.status !== 'closed';
    if (live && before !== m.status) {
      if (m.status === 'in_progress') this.announcer.say(t('meeting_started'));
      if (m.status === 'closed') this.announcer.say(t('meeting_closed'));
    }
    const themeId = m.status === 'in_progress' ? this.meetingThemeId() : null;
    const moved = themeId !== this.meetingTheme;
    this.meetingTheme = themeId;
    this.renderAgenda();
    this.renderDecision();
    if (moved && themeId !== null) {
      const theme = find(this.state, 'theme', themeId);
      const title = theme ? theme.title : '';
      if (this.following) {
        if (themeId !== this.shownTheme) this.followWhenIdle();
        if (live) this.announcer.say(t('meeting_moved', { theme: title }));
      } else if (live) {
        this.announcer.say(t('meeting_moved_not_following', { theme: title }));
      }
    }
    this.updateFollowUi();
  }

  /** Follow the meeting to its theme, unless the person is typing right now. */
  followWhenIdle() {
    clearTimeout(this.followTimer);
    const typing = this.panel.contains(document.activeElement) && Date.now() - this.lastTyped < FOLLOW_GRACE_MS;
    if (typing) {
      this.followTimer = setTimeout(() => this.followWhenIdle(), 500);
      return;
    }
    if (this.following && this.meetingTheme !== null && this.meetingTheme !== this.shownTheme) this.showTheme(this.meetingTheme, { user: false });
  }

  updateFollowUi() {
    const m = this.store.meeting;
    const inProgress = m && m.status === 'in_progress';
    const off = inProgress && this.meetingTheme !== null && this.shownTheme !== this.meetingTheme;
    const notice = $('#follow-notice');
    notice.hidden = !(off && !this.following);
    if (!notice.hidden) {
      const theme = find(this.state, 'theme', this.meetingTheme);
      $('#follow-notice-text').textContent = `${t('not_following')} ${theme ? `(${theme.title})` : ''}`;
    }
    const shownButton = $('#goto-shown');
    if (shownButton) {
      const shownItem = m ? m.items.find((i) => i.theme === this.shownTheme) : null;
      shownButton.hidden = !(inProgress && shownItem && shownItem.id !== m.current_item);
    }
    const items = this.agendaItems();
    const index = m ? items.findIndex((i) => i.id === m.current_item) : -1;
    const prev = $('#goto-previous');
    const next = $('#goto-next');
    if (prev) prev.disabled = !inProgress || index <= 0;
    if (next) next.disabled = !inProgress || index >= items.length - 1;
    $('#follow').checked = this.following;
  }

  showTheme(themeId, { user }) {
    if (!find(this.state, 'theme', themeId)) return;
    const focusInPanel = this.panel.contains(document.activeElement);
    if (user) {
      this.following = this.meetingTheme === null || themeId === this.meetingTheme;
    }
    this.shownTheme = themeId;
    const url = new URL(window.location.href);
    if (this.following) url.searchParams.delete('tema');
    else url.searchParams.set('tema', String(themeId));
    window.history.replaceState(null, '', url);
    this.renderAgenda();
    this.renderPanel();
    if (user || (focusInPanel && !this.panel.contains(document.activeElement))) {
      $('#theme-heading').focus({ preventScroll: !user });
    }
  }

  // ------------------------------------------------------------------ connection UI

  updateConnection() {
    const c = this.conn ? this.conn.state : 'connecting';
    const n = this.store.pendingCount;
    let state;
    if (c === 'ended' || c === 'forbidden') state = c;
    else if (c === 'open' && this.store.ready && !this.store.syncing) state = 'live';
    else if (c === 'offline') state = 'offline';
    else state = this.everLive ? 'reconnecting' : 'connecting';
    let text;
    if (state === 'live') text = t('live');
    else if (state === 'connecting') text = t('connecting');
    else if (state === 'reconnecting') text = n ? t('reconnecting_pending', { n }) : t('reconnecting');
    else if (state === 'offline') text = n ? t('offline_pending', { n }) : t('offline');
    else text = t(state);
    const box = $('.connection');
    box.dataset.state = state;
    const label = $('#connection');
    if (label.textContent !== text) label.textContent = text;
    $('#retry').hidden = !(state === 'reconnecting' || state === 'offline');
    $('#save-state').textContent = state === 'live' ? (n ? t('pending', { n }) : t('saved')) : '';
    if (state === 'live') {
      if (this.lastState && this.lastState !== 'live' && this.everLive && n === 0) this.announcer.say(t('back_live'));
      this.everLive = true;
    }
    if (state === 'ended' || state === 'forbidden') {
      this.store.persist();
      $('#session-ended').hidden = false;
      $('#session-ended-text').textContent = t(state);
    }
    this.lastState = state;
    this.updateMeetingButtons();
  }

  updateMeetingButtons() {
    const live = this.conn && this.conn.isOpen;
    const shown = $('#goto-shown');
    if (shown) shown.disabled = !live;
  }

  updateUndoButtons() {
    $('#undo').disabled = !this.undo.canUndo;
    $('#redo').disabled = !this.undo.canRedo;
  }

  // ----------------------------------------------------------------- errors, lost

  showError(e) {
    const el = e.key ? this.controls(e.key)[0] : null;
    const wrapper = el ? el.closest('.lfield') : null;
    if (wrapper) {
      wrapper.classList.add('lfield--error');
      el.setAttribute('aria-invalid', 'true');
      wrapper.querySelector('[data-error]').textContent = e.message;
      this.announcer.say(e.message);
      return;
    }
    this.generalError(e.message || t('error_generic'));
  }

  generalError(message) {
    const box = $('#room-errors');
    const p = document.createElement('p');
    p.className = 'message message--error';
    p.textContent = message;
    box.append(p);
    setTimeout(() => p.remove(), 15000);
  }

  clearError(el) {
    const wrapper = el.closest('.lfield');
    if (!wrapper || !wrapper.classList.contains('lfield--error')) return;
    wrapper.classList.remove('lfield--error');
    el.removeAttribute('aria-invalid');
    wrapper.querySelector('[data-error]').textContent = '';
  }

  showLost(e) {
    if (!e.text || !e.text.trim()) return;
    const box = cloneTemplate(document, 'tpl-lost', 'x');
    const id = `lost-${Date.now()}-${Math.random().toString(36).slice(2, 7)}`;
    const el = this.controls(e.key)[0];
    const where = el ? labelOf(el) : '';
    box.querySelector('[data-lost-title]').textContent = where ? `${t('not_saved_title')}: ${where}` : t('not_saved_title');
    box.querySelector('[data-lost-help]').textContent =
      e.reason === 'deleted' ? t('deleted_while_editing', { what: where || t('goal') }) : e.message || t('not_saved_help');
    const label = box.querySelector('[data-lost-label]');
    label.textContent = t('lost_label');
    label.setAttribute('for', id);
    const text = box.querySelector('[data-lost-text]');
    text.id = id;
    text.value = e.text;
    $('#lost').append(box);
    this.generalError(t('not_saved_title'));
  }

  // ----------------------------------------------------------------- page events

  listenToPage() {
    this.root.addEventListener('input', (event) => {
      const el = event.target;
      if (el.dataset && el.dataset.key) {
        this.lastTyped = Date.now();
        this.clearError(el);
      }
    });
    this.root.addEventListener('change', (event) => this.onChange(event));
    this.root.addEventListener('click', (event) => this.onClick(event));
    this.root.addEventListener('submit', (event) => this.onSubmit(event));
    this.root.addEventListener('focusin', (event) => {
      const el = event.target.closest('[data-key]');
      const key = el ? el.dataset.key : null;
      if (key !== this.store.focus) this.store.setFocus(key);
    });
    this.root.addEventListener('focusout', (event) => {
      if (event.target.closest('[data-key]')) this.undo.seal();
      setTimeout(() => {
        const el = document.activeElement && document.activeElement.closest && document.activeElement.closest('[data-key]');
        if (!el && this.store.focus !== null) this.store.setFocus(null);
      }, 0);
    });
    $('#follow').addEventListener('change', (event) => {
      this.following = event.target.checked;
      if (this.following && this.meetingTheme !== null) this.showTheme(this.meetingTheme, { user: false });
      this.updateFollowUi();
    });
    const decision = $('#decision');
    if (decision) {
      decision.addEventListener('change', () => {
        const item = Number(decision.dataset.item);
        if (!this.store.meetingAction('decision', { item, text: decision.value })) this.generalError(t('not_connected'));
      });
    }
    document.addEventListener('keydown', (event) => this.onKey(event));
    window.addEventListener('pagehide', () => this.store.persist());
    window.addEventListener('beforeunload', (event) => {
      this.store.persist();
      if (this.store.pendingCount > 0) {
        // Unsent text survives a reload (sessionStorage) but not closing the tab: ask.
        event.preventDefault();
        event.returnValue = '';
      }
    });
    const close = $('#close-meeting');
    if (close) close.addEventListener('click', (event) => this.onCloseClick(event, close));
  }

  onKey(event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
    const key = event.key.toLowerCase();
    if (key !== 'z' && key !== 'y') return;
    const el = event.target;
    // Ordinary forms (e.g. "add a goal") keep the browser's own undo.
    const formField = el.matches && el.matches('input, textarea, select') && !el.dataset.key;
    if (formField || !this.store.ready) return;
    event.preventDefault();
    if (key === 'y' || event.shiftKey) this.runRedo();
    else this.runUndo();
  }

  async runUndo() {
    try {
      const entry = await this.undo.undo();
      this.announcer.say(entry ? t('undone', { what: this.describeEntry(entry) }) : t('undo_nothing'));
    } catch (error) {
      this.generalError(error.message);
    }
  }

  async runRedo() {
    try {
      const entry = await this.undo.redo();
      this.announcer.say(entry ? t('redone', { what: this.describeEntry(entry) }) : t('redo_nothing'));
    } catch (error) {
      this.generalError(error.message);
    }
  }

  describeEntry(entry) {
    if (entry.kind === 'structure') return entry.label;
    const el = this.controls(entry.key)[0];
    return el ? labelOf(el) : entry.key.split(':')[2].replace(/_/g, ' ');
  }

  onChange(event) {
    const el = event.target;
    if (!el.dataset || !el.dataset.key) return;
    const { target, id, field } = parseKey(el.dataset.key);
    if (isTextField(target, field)) return;
    this.clearError(el);
    this.store.setValue(target, id, field, controlValue(el, field)).catch(() => {});
  }

  onClick(event) {
    const link = event.target.closest('[data-show-theme]');
    if (link && this.store.ready) {
      event.preventDefault();
      this.showTheme(Number(link.dataset.showTheme), { user: true });
      return;
    }
    const action = event.target.closest('[data-action]');
    if (action) {
      const card = action.closest('[data-object]');
      this.cardAction(action.dataset.action, card.dataset.object, Number(card.dataset.id));
      return;
    }
    const id = event.target.closest('button') && event.target.closest('button').id;
    if (id === 'undo') this.runUndo();
    else if (id === 'redo') this.runRedo();
    else if (id === 'retry') this.conn.reconnectNow();
    else if (id === 'back-to-meeting') {
      this.following = true;
      if (this.meetingTheme !== null) this.showTheme(this.meetingTheme, { user: true });
    } else if (id === 'goto-shown') {
      const m = this.store.meeting;
      const item = m && m.items.find((i) => i.theme === this.shownTheme);
      if (item) {
        this.following = true;
        if (!this.store.meetingAction('goto', { item: item.id })) this.generalError(t('not_connected'));
      }
    }
    const lost = event.target.closest('.lost');
    if (lost && event.target.closest('[data-lost-dismiss]')) lost.remove();
    if (lost && event.target.closest('[data-lost-copy]')) {
      const text = lost.querySelector('[data-lost-text]');
      const done = () => this.announcer.say(t('copied'));
      if (navigator.clipboard) navigator.clipboard.writeText(text.value).then(done, () => text.select());
      else text.select();
    }
  }

  async cardAction(action, target, id) {
    const obj = find(this.state, target, id);
    if (!obj || !this.canEdit(target, obj)) return;
    const siblings = group(this.state, target, obj.theme);
    const label = this.describeObject(target, obj);
    try {
      if (action === 'move-up' || action === 'move-down') {
        const from = obj.position;
        const to = action === 'move-up' ? from - 1 : from + 1;
        if (to < 0 || to >= siblings.length) return;
        await this.store.structure({ type: 'move', target, id, position: to });
        this.undo.recordStructure({
          undo: [{ type: 'move', target, id, position: from }],
          redo: [{ type: 'move', target, id, position: to }],
          label,
        });
      } else if (action === 'delete') {
        if (!window.confirm(t(`confirm_delete_${target}`))) return;
        const index = siblings.findIndex((o) => o.id === id);
        const neighbour = siblings[index + 1] || siblings[index - 1] || null;
        const from = obj.position;
        await this.store.structure({ type: 'delete', target, id });
        this.undo.recordStructure({
          undo: [{ type: 'restore', target, id }, { type: 'move', target, id, position: from }],
          redo: [{ type: 'delete', target, id }],
          label,
        });
        const next = neighbour ? document.getElementById(`${target}-${neighbour.id}-heading`) : null;
        (next || document.getElementById(`${target}s-heading`)).focus();
      }
    } catch (error) {
      this.generalError(error.message || t('error_generic'));
    }
  }

  onSubmit(event) {
    const form = event.target;
    if (form.id === 'goto-form') {
      const m = this.store.meeting;
      if (!m || !this.conn.isOpen) return; // no socket: the form posts (works without scripts)
      event.preventDefault();
      const items = this.agendaItems();
      const index = items.findIndex((i) => i.id === m.current_item);
      const direction = event.submitter ? event.submitter.value : 'next';
      const next = items[direction === 'previous' ? index - 1 : index + 1];
      if (!next) return;
      this.following = true;
      this.store.meetingAction('goto', { item: next.id });
      return;
    }
    if (form.dataset.create) {
      event.preventDefault();
      this.createFrom(form);
    }
  }

  async createFrom(form) {
    const target = form.dataset.create;
    const data = new FormData(form);
    const error = form.querySelector('[data-form-error]');
    error.textContent = '';
    for (const el of $$('[required]', form)) {
      if (!String(data.get(el.name) || '').trim()) {
        error.textContent = `${labelOf(el)}: ${t('required')}`;
        el.setAttribute('aria-invalid', 'true');
        el.focus();
        return;
      }
      el.removeAttribute('aria-invalid');
    }
    const values = {};
    if (target === 'theme') values.title = data.get('title').trim();
    if (target === 'goal') {
      Object.assign(values, {
        theme: this.shownTheme,
        level: data.get('level'),
        text: data.get('text'),
        success_criterion: data.get('success_criterion'),
        evaluation_date: data.get('evaluation_date'),
        status: 'not_started',
      });
    }
    if (target === 'measure') {
      Object.assign(values, { theme: this.shownTheme, description: data.get('description'), status: 'planned' });
      if (data.get('responsible')) values.responsible = Number(data.get('responsible'));
      if (data.get('goal')) values.goal = Number(data.get('goal'));
      if (data.get('due_date')) values.due_date = data.get('due_date');
    }
    const submit = form.querySelector('[type="submit"]');
    submit.disabled = true;
    try {
      const result = await this.store.structure({ type: 'create', target, values });
      form.reset();
      const details = form.closest('details');
      if (details) details.open = false;
      const obj = find(this.state, target, result.id);
      this.undo.recordStructure({
        undo: [{ type: 'delete', target, id: result.id }],
        redo: [{ type: 'restore', target, id: result.id }],
        label: obj ? this.describeObject(target, obj) : target,
      });
      this.announcer.say(t(`new_${target}_added`));
      if (target === 'theme') this.showTheme(result.id, { user: true });
      const heading = document.getElementById(`${target}-${result.id}-heading`);
      if (heading) heading.focus();
    } catch (err) {
      error.textContent = err.message || t('error_generic');
      const field = err.field && form.querySelector(`[name="${CSS.escape(err.field)}"]`);
      if (field) {
        field.setAttribute('aria-invalid', 'true');
        field.focus();
      }
    } finally {
      submit.disabled = false;
    }
  }

  onCloseClick(event, link) {
    if (this.store.pendingCount === 0) return;
    event.preventDefault();
    const note = $('#close-wait');
    note.hidden = false;
    note.textContent = t('waiting_to_close');
    const started = Date.now();
    const wait = () => {
      if (this.store.pendingCount === 0) {
        window.location.href = link.href;
      } else if (Date.now() - started > 10000) {
        note.textContent = t('unsaved_on_close');
      } else {
        setTimeout(wait, 200);
      }
    };
    wait();
  }
}

function keyParts(key) {
  const { target, id, field } = parseKey(key);
  return [target, id, field];
}

const configEl = document.getElementById('room-config');
if (configEl) {
  loadStrings();
  window.ipplanRoom = new Room(JSON.parse(configEl.textContent));
}
