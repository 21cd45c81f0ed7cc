// Treatment courses (behandlingsløp) in the meeting room's plan column: a read-only list
// kept current from the live state.  The store applies course ops like those of any
// other target (state.js); this only redraws the list when one of them arrives.
// Kind, status and reason names come translated from the server (data-course-labels).

const DATE_FIELDS = ['referral_date', 'start_date', 'planned_end', 'end_date'];

function formatDate(iso) {
  // "YYYY-MM-DD" as a local calendar date (no time zone shift), in the page's language.
  const [y, m, d] = iso.split('-').map(Number);
  const lang = document.documentElement.lang || undefined;
  return new Date(y, m - 1, d).toLocaleDateString(lang, { day: 'numeric', month: 'numeric', year: 'numeric' });
}

/** Most recent first, as on the plan page: by start (else referral) date, then id. */
function byRecency(a, b) {
  const da = a.start_date || a.referral_date || '';
  const db = b.start_date || b.referral_date || '';
  if (da !== db) return da < db ? 1 : -1;
  return a.id - b.id;
}

function courseItem(course, labels) {
  const li = document.createElement('li');
  li.className = 'room-course';
  li.dataset.course = String(course.id);

  const head = document.createElement('p');
  head.className = 'room-course__head';
  const kind = document.createElement('strong');
  kind.textContent = labels.kind?.[course.kind] ?? course.kind;
  const status = document.createElement('span');
  status.className = `badge badge--${course.status}`;
  status.textContent = labels.status?.[course.status] ?? course.status;
  head.append(kind, ' ', status);

  const provider = document.createElement('p');
  provider.className = 'room-course__provider';
  provider.textContent = course.provider;

  const dates = document.createElement('dl');
  dates.className = 'room-course__dates';
  for (const field of DATE_FIELDS) {
    if (!course[field]) continue;
    const dt = document.createElement('dt');
    dt.textContent = labels[field] ?? field;
    const dd = document.createElement('dd');
    dd.textContent = formatDate(course[field]);
    dates.append(dt, dd);
  }
  if (course.status === 'broken_off' && course.break_reason) {
    const dt = document.createElement('dt');
    dt.textContent = labels.reason ?? 'reason';
    const dd = document.createElement('dd');
    dd.textContent = labels.break_reason?.[course.break_reason] ?? course.break_reason;
    dates.append(dt, dd);
  }
  li.append(head, provider);
  if (dates.childElementCount) li.append(dates);
  return li;
}

export function renderCourses(root, courses, labels) {
  const list = root.querySelector('#room-course-list');
  const empty = root.querySelector('#room-no-courses');
  const items = courses.slice().sort(byRecency).map((c) => courseItem(c, labels));
  list.replaceChildren(...items);
  empty.hidden = items.length > 0;
}

/** Keep the course list in `root` in step with the store's state. */
export function bindCourses(store, root) {
  if (!root) return;
  let labels = {};
  try {
    labels = JSON.parse(root.dataset.courseLabels || '{}');
  } catch {
    labels = {};
  }
  const render = () => {
    if (store.state) renderCourses(root, store.state.courses || [], labels);
  };
  store.on('snapshot', render);
  store.on('structure', (e) => {
    if (e.op.target === 'course') render();
  });
  store.on('field', (e) => {
    if (e.target === 'course') render();
  });
  // A form's change to a text field (the provider) arrives as a text op.
  store.on('text', (e) => {
    if (e.key.startsWith('course:')) render();
  });
  render();
}
