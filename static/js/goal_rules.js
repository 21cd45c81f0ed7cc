// Warnings for vague goals, for the live meeting room and goal forms.
//
// Browser twin of ipplan/plans/goal_rules.py: the same rule table (generated below from
// ipplan/plans/goal_rules.json) and the same matching, so the meeting room warns about
// exactly the goals the server-rendered forms warn about. tests/plans/test_goal_rules.py
// runs both on the same cases with node. The rules are documented in docs/goal-rules.md.
//
//   import { goalWarnings, messagesFromElement } from './goal_rules.js';
//   messagesFromElement(document.querySelector('[data-goal-rule-messages]'));
//   goalWarnings(goalText, successCriterion)  // -> ['…', …] (insert with textContent)
//
// Warnings are advice: they never block saving a goal.

// BEGIN GENERATED RULES from ipplan/plans/goal_rules.json: do not edit by hand;
// run `python -m ipplan.plans.goal_rules --write-js` instead.
export const RULES = {
  "version": 1,
  "about": "Vague-goal rules: the one source for ipplan/plans/goal_rules.py and static/js/goal_rules.js. Documented in docs/goal-rules.md. After editing, run: python -m ipplan.plans.goal_rules --write-js",
  "vague_phrases": [
    "rusfri*",
    "bli bedre",
    "få det bra",
    "få det bedre",
    "få det godt",
    "ha det bra",
    "ha det bedre",
    "ha det godt",
    "bli frisk*",
    "fungere bedre",
    "bli stabil*",
    "mer stabil*",
    "bedre helse",
    "bedre livskvalitet",
    "mestre hverdagen",
    "mestre livet",
    "komme videre",
    "komme meg videre",
    "ta tak i",
    "jobbe med meg selv",
    "jobbe med seg selv",
    "redusere rus*",
    "mindre rus*"
  ],
  "measurable_words": [
    "én",
    "ett",
    "to",
    "tre",
    "fire",
    "fem",
    "seks",
    "sju",
    "syv",
    "åtte",
    "ni",
    "ti",
    "elleve",
    "tolv",
    "femten",
    "tjue",
    "tretti",
    "hundre",
    "halvparten",
    "dag*",
    "døgn*",
    "uke*",
    "uka",
    "måned*",
    "år",
    "års",
    "året",
    "årlig",
    "time*",
    "minutt*",
    "gang*",
    "ukentlig",
    "månedlig",
    "hver",
    "hvert",
    "prosent",
    "kr",
    "kroner",
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
    "urinprøve*",
    "prøvesvar*",
    "kontrakt*",
    "leiekontrakt*",
    "signert*",
    "oppmøte*"
  ],
  "rules": [
    {
      "id": "missing_criterion",
      "message": "Add a success criterion: how will you know that the goal has been reached?"
    },
    {
      "id": "criterion_repeats_goal",
      "message": "The success criterion only repeats the goal. Describe what you will see when the goal has been reached."
    },
    {
      "id": "vague_goal",
      "message": "“%(phrase)s” can mean many things. Say in the success criterion what it means in practice: how much, how often or by when."
    },
    {
      "id": "vague_criterion",
      "message": "The success criterion is vague (“%(phrase)s”). Describe something that can be seen or counted."
    }
  ]
};
// END GENERATED RULES

// Runs of letters and digits; Python uses [^\W_]+, the same set of characters.
const TOKEN = /[\p{L}\p{N}]+/gu;
const DIGIT = /[0-9]/;

let messages = Object.fromEntries(RULES.rules.map((rule) => [rule.id, rule.message]));

/** Use translated message templates (rule id -> text with %(phrase)s), e.g. from the server. */
export function setMessages(map) {
  for (const rule of RULES.rules) {
    if (map && typeof map[rule.id] === 'string') messages[rule.id] = map[rule.id];
  }
}

/** Read translated messages from an element's data-goal-rule-messages attribute (JSON). */
export function messagesFromElement(element) {
  const raw = element && element.dataset ? element.dataset.goalRuleMessages : undefined;
  if (!raw) return;
  try {
    setMessages(JSON.parse(raw));
  } catch {
    // Keep the English defaults: a warning in English beats no warning.
  }
}

export function tokens(value) {
  return (value || '').normalize('NFC').toLowerCase().match(TOKEN) || [];
}

function wordMatches(pattern, token) {
  if (pattern.endsWith('*')) return token.startsWith(pattern.slice(0, -1));
  return token === pattern;
}

const patterns = {};
function phrasesOf(key) {
  if (!patterns[key]) patterns[key] = RULES[key].map((phrase) => phrase.split(/\s+/u));
  return patterns[key];
}

function findPhrase(words, key) {
  const phrases = phrasesOf(key);
  for (let start = 0; start < words.length; start++) {
    for (const phrase of phrases) {
      const end = start + phrase.length;
      if (end > words.length) continue;
      if (phrase.every((p, i) => wordMatches(p, words[start + i]))) {
        return words.slice(start, end).join(' ');
      }
    }
  }
  return null;
}

export function isMeasurable(criterion) {
  const words = tokens(criterion);
  if ((criterion || '').includes('%') || words.some((w) => DIGIT.test(w))) return true;
  return findPhrase(words, 'measurable_words') !== null;
}

function sameWords(a, b) {
  return a.length === b.length && a.every((w, i) => w === b[i]);
}

/** The rules a goal breaks, as [ruleId, params] pairs (same as goal_warning_codes in Python). */
export function goalWarningCodes(text, successCriterion) {
  const goalWords = tokens(text);
  const criterionWords = tokens(successCriterion);
  if (goalWords.length === 0 && criterionWords.length === 0) return [];
  const measurable = isMeasurable(successCriterion);
  const found = [];
  let phrase = findPhrase(goalWords, 'vague_phrases');
  if (phrase && !measurable) found.push(['vague_goal', { phrase }]);
  if (criterionWords.length === 0) {
    found.push(['missing_criterion', {}]);
  } else if (sameWords(criterionWords, goalWords)) {
    found.push(['criterion_repeats_goal', {}]);
  } else if (!measurable) {
    phrase = findPhrase(criterionWords, 'vague_phrases');
    if (phrase) found.push(['vague_criterion', { phrase }]);
  }
  return found;
}

function format(template, params) {
  return template.replace(/%\((\w+)\)s/g, (whole, key) => (key in params ? params[key] : whole));
}

/** Warnings for a goal in the current language; empty when the goal looks concrete. */
export function goalWarnings(text, successCriterion) {
  return goalWarningCodes(text, successCriterion).map(([code, params]) =>
    format(messages[code], params),
  );
}
