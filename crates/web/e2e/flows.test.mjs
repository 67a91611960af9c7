// The web app's workflows in real headless Chromium against `liaison demo`: the Border Patrol
// to ICE handoff, detainers in a California jail (declined, as its law requires) and a Texas
// jail (honored, hold clock shown), a citizenship claim blocking a detainer until a supervisor
// decides, role visibility, an auditor verifying the log and following a chain, and the axe
// scan and a screenshot of every page. Run: `npm test` here (README, "Web app").
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { axe, browser, fill, mainText, newPage, shot, signIn, signOut, startDemo } from './harness.mjs';

let demo;
let chrome;

before(async () => {
  demo = await startDemo();
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  await demo?.stop();
});

/** Submits the current form with "Record" and returns the main text of the answer. */
async function record(page) {
  await page.getByRole('button', { name: 'Record', exact: true }).click();
  await page.waitForLoadState('load');
  return mainText(page);
}

/** Submits the current form with "Check with the law". */
async function check(page) {
  await page.getByRole('button', { name: 'Check with the law' }).click();
  await page.waitForLoadState('load');
  return mainText(page);
}

/** A subject registered by `who`, with a name and date of birth. */
async function register(page, id, name, dob, extra = {}) {
  await page.goto(demo.base + '/forms/subject');
  await fill(page, { id, names: name, date_of_birth: dob, ...extra });
  const text = await record(page);
  assert.match(text, /Recorded/, text);
}

test('Border Patrol hands a person to ICE ERO: offer, board, accept, custody moves', async () => {
  const page = await newPage(chrome);
  await signIn(page, demo.base, 'O-USBP-0001');
  await register(page, 'S-E2E-0001', 'Handoff Person', '1990-04-02');
  await page.goto(demo.base + '/forms/encounter?subject=S-E2E-0001');
  await fill(page, {
    'location.lat': '32.60', 'location.lon': '-117.00', method: 'PB', authority: 'warrantless_arrest_1357a2',
    suspicion_factors: ['recent_illegal_crossings_in_area', 'fleeing_or_hiding'], arrest: true,
    escape_risk: 'ran toward the fence line', operation: 'OP-DEMO-0001',
  });
  const checked = await check(page);
  assert.match(checked, /Checked: this would be recorded/, checked);
  assert.match(checked, /Where: San Diego, CA \(county 06073\), time zone America\/Los_Angeles/, checked);
  await shot(page, 'form-encounter-checked');
  const arrested = await record(page);
  assert.match(arrested, /Recorded/, arrested);
  assert.match(arrested, /8 U\.S\.C\. 1357/, arrested);
  await page.goto(demo.base + '/forms/handoff?subject=S-E2E-0001');
  await fill(page, { receiving_agency: 'ICE-ERO-SND', note: 'processed at Chula Vista' });
  assert.match(await record(page), /Recorded/);
  await signOut(page);

  await signIn(page, demo.base, 'O-ERO-SND-0001');
  const board = await mainText(page);
  assert.match(board, /Handoff Person/, board);
  assert.match(board, /left/, 'the offer shows its time left');
  await shot(page, 'board-ero-pending-handoff');
  await page.locator('tr', { hasText: 'Handoff Person' }).getByRole('link', { name: 'Answer' }).click();
  await fill(page, { answer: 'accept' });
  assert.match(await record(page), /Recorded/);
  await page.goto(demo.base + '/subjects/S-E2E-0001');
  const custodian = await page.locator('#custodian').innerText();
  assert.match(custodian, /ICE-ERO-SND/, custodian);
  const chain = await mainText(page);
  assert.match(chain, /offered by USBP-SAN-DIEGO to ICE-ERO-SND/, chain);
  assert.match(chain, /accepted/, chain);
  await page.locator('summary', { hasText: "The law's decision" }).last().click();
  assert.match(await mainText(page), /Permitted[\s\S]*8 U\.S\.C\. 1357/, 'each step shows the decision that permitted it');
  await shot(page, 'subject-after-handoff');
  await page.goto(demo.base + '/operations');
  const usbp = await page.locator('tr', { hasText: 'USBP-SAN-DIEGO' }).innerText();
  assert.match(usbp, /ICE-ERO-SND\s+40\s+1/, 'Border Patrol agents detailed to ERO, with the arrest: ' + usbp);
  await page.context().close();
});

/** ERO registers a person known to ICE; a jail books the same person (the booking's identity
 * check matches, so ICE may see the jail's record); returns nothing. */
async function bookKnownPerson(page, { jail, facility, id, iceId, name, dob }) {
  await signIn(page, demo.base, 'O-ERO-SND-0001');
  await register(page, iceId, name, dob, { a_number: 'A0' + String(Math.abs(hash(iceId))).padStart(8, '0').slice(0, 8) });
  await signOut(page);
  await signIn(page, demo.base, jail);
  await register(page, id, name, dob);
  await page.goto(demo.base + '/forms/booking?subject=' + id);
  await fill(page, { facility, charge: 'Vehicle code violation (synthetic)' });
  assert.match(await record(page), /Recorded/);
}

function hash(s) {
  let h = 7;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) | 0;
  return h;
}

/** ICE ERO issues an I-247A to the jail holding `id`; returns the answer's main text. */
async function issueDetainer(page, id, recipient) {
  await page.goto(demo.base + '/forms/detainer?subject=' + id);
  await fill(page, {
    recipient_agency: recipient, form: 'I-247A', probable_cause: ['biometric_and_records_check'],
    'warrant.form': 'I-200', 'warrant.signed_by': 'O-ERO-SND-0001', 'warrant.signed_at': '2026-01-05T09:00',
  });
  return record(page);
}

test('California jail: the detainer is declined, as California law requires', async () => {
  const page = await newPage(chrome);
  await bookKnownPerson(page, {
    jail: 'O-CA-SD-0001', facility: 'F-CA-SD-JAIL', id: 'S-E2E-CA-01', iceId: 'S-E2E-CA-00', name: 'Coastal Example', dob: '1987-01-09',
  });
  await signOut(page);
  await signIn(page, demo.base, 'O-ERO-SND-0001');
  const issued = await issueDetainer(page, 'S-E2E-CA-01', 'CA-SAN-DIEGO-COUNTY-SHERIFFS-OFFICE');
  assert.match(issued, /Recorded/, issued);
  await signOut(page);

  await signIn(page, demo.base, 'O-CA-SD-0001');
  const board = await mainText(page);
  assert.match(board, /Coastal Example/, board);
  await page.locator('tr', { hasText: 'Coastal Example' }).getByRole('link', { name: 'Next step' }).click();
  await fill(page, { step: 'answer', answer: 'honor' });
  const honor = await check(page);
  assert.match(honor, /Not permitted/, honor);
  assert.match(honor, /7284\.6/, 'the refusal cites the California Values Act');
  await shot(page, 'detainer-ca-honor-refused');
  await fill(page, { answer: 'decline' });
  const declined = await record(page);
  assert.match(declined, /Recorded/, declined);
  assert.match(declined, /7284/, declined);
  await shot(page, 'detainer-ca-declined');
  await page.context().close();
});

test('Texas jail: the detainer is honored and the hold clock shown in Central time', async () => {
  const page = await newPage(chrome);
  await bookKnownPerson(page, {
    jail: 'O-TX-ANG-0001', facility: 'F-TX-ANG-JAIL', id: 'S-E2E-TX-01', iceId: 'S-E2E-TX-00', name: 'Piney Example', dob: '1979-11-23',
  });
  await signOut(page);
  await signIn(page, demo.base, 'O-ERO-SND-0001');
  assert.match(await issueDetainer(page, 'S-E2E-TX-01', 'TX-ANGELINA-COUNTY-SHERIFFS-OFFICE'), /Recorded/);
  await signOut(page);

  await signIn(page, demo.base, 'O-TX-ANG-0001');
  await page.locator('tr', { hasText: 'Piney Example' }).getByRole('link', { name: 'Next step' }).click();
  await fill(page, { step: 'answer', answer: 'decline' });
  const decline = await check(page);
  assert.match(decline, /Not permitted/, decline);
  await fill(page, { answer: 'honor' });
  const honored = await record(page);
  assert.match(honored, /Recorded/, honored);
  assert.match(honored, /2\.251/, 'Texas law cited');
  await page.goto(demo.base + '/forms/detainer-step?detainer=');
  await page.goto(demo.base + '/');
  await page.locator('tr', { hasText: 'Piney Example' }).getByRole('link', { name: 'Next step' }).click();
  await fill(page, { step: 'release_eligible' });
  const eligible = await record(page);
  assert.match(eligible, /Hold clock/, eligible);
  assert.match(eligible, /C[SD]T/, 'the hold clock is in the jail\'s Central time');
  await page.goto(demo.base + '/');
  const row = await page.locator('tr', { hasText: 'Piney Example' }).innerText();
  assert.match(row, /C[SD]T/, row);
  assert.match(row, /America\/Chicago/, row);
  assert.match(row, /\d+h \d\dm/, row);
  await shot(page, 'board-tx-hold-clock');
  await page.context().close();
});

test('A citizenship claim blocks a detainer until a supervisor decides', async () => {
  const page = await newPage(chrome);
  await bookKnownPerson(page, {
    jail: 'O-TX-ANG-0001', facility: 'F-TX-ANG-JAIL', id: 'S-E2E-CZ-01', iceId: 'S-E2E-CZ-00', name: 'Claim Example', dob: '1992-07-30',
  });
  await page.goto(demo.base + '/forms/citizenship-claim?subject=S-E2E-CZ-01');
  await fill(page, { country: 'US', evidence: ['us_passport'] });
  assert.match(await record(page), /Recorded/);
  await signOut(page);

  await signIn(page, demo.base, 'O-ERO-SND-0001');
  const refused = await issueDetainer(page, 'S-E2E-CZ-01', 'TX-ANGELINA-COUNTY-SHERIFFS-OFFICE');
  assert.match(refused, /Not recorded/, refused);
  assert.match(refused, /citizenship/i, refused);
  await shot(page, 'detainer-refused-citizenship-claim');
  await page.goto(demo.base + '/subjects/S-E2E-CZ-01');
  assert.match(await page.locator('#citizenship').innerText(), /Undecided/);
  await page.getByRole('link', { name: 'Decide the claim' }).click();
  await fill(page, { us_citizen: 'no', basis: 'passport number not found; A-file shows foreign birth (synthetic)' });
  assert.match(await record(page), /Recorded/);
  const issued = await issueDetainer(page, 'S-E2E-CZ-01', 'TX-ANGELINA-COUNTY-SHERIFFS-OFFICE');
  assert.match(issued, /Recorded/, issued);
  await page.context().close();
});

test('Role visibility: a sheriff cannot see another county\'s subjects', async () => {
  const page = await newPage(chrome);
  await signIn(page, demo.base, 'O-TX-ANG-0001');
  const resp = await page.goto(demo.base + '/subjects/S-DEMO-0003');
  assert.equal(resp.status(), 404);
  const unknown = await page.goto(demo.base + '/subjects/S-NOBODY-0000');
  assert.equal(unknown.status(), 404);
  assert.equal(await page.locator('main').innerText().then((t) => t.replace(/S-\S+/g, 'S')),
    await (async () => { await page.goto(demo.base + '/subjects/S-DEMO-0003'); return page.locator('main').innerText(); })().then((t) => t.replace(/S-\S+/g, 'S')),
    'the same page for a subject that does not exist and one the viewer may not know');
  await page.goto(demo.base + '/subjects?q=S-DEMO-0003');
  assert.match(await mainText(page), /No person you may see matches/);
  const proof = await page.goto(demo.base + '/ledger/proof/3474');
  assert.equal(proof.status(), 404, 'nor the proof of its events');
  await page.goto(demo.base + '/');
  assert.doesNotMatch(await mainText(page), /S-DEMO-0003/);
  // Collier County's own officer sees the subject.
  await signOut(page);
  await signIn(page, demo.base, 'O-FL-COL-0001');
  const own = await page.goto(demo.base + '/subjects/S-DEMO-0003');
  assert.equal(own.status(), 200);
  await page.context().close();
});

test('An auditor verifies the log, downloads the checkpoint and follows a custody chain', async () => {
  const page = await newPage(chrome);
  await signIn(page, demo.base, 'oversight-crcl');
  await page.goto(demo.base + '/oversight/verify');
  await page.getByRole('button', { name: 'Verify now' }).click();
  const verified = await page.locator('#verified').innerText();
  assert.match(verified, /Verified\. \d+ events; Merkle root [0-9a-f]{64}/, verified);
  await shot(page, 'oversight-verified');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download the signed checkpoint' }).click(),
  ]);
  const note = await (await download.createReadStream()).toArray().then((c) => Buffer.concat(c).toString());
  assert.match(note, /^liaison\.demo|\n\d+\n[A-Za-z0-9+/=]+\n\n— /, note);
  await page.goto(demo.base + '/oversight/audit?type=subject_record_read');
  const reads = await mainText(page);
  assert.match(reads, /O-ERO-SND-0001 of ICE-ERO-SND read the record/, reads);
  await page.goto(demo.base + '/subjects/S-DEMO-0003');
  const chain = await mainText(page);
  assert.match(chain, /time corrected by event 3476/, chain);
  await page.fill('#as_of', '2026-01-01T00:00');
  await page.getByRole('button', { name: 'Show' }).click();
  assert.match(await mainText(page), /Nothing recorded by then/);
  await page.goto(demo.base + '/subjects/S-DEMO-0003');
  await page.getByRole('link', { name: 'inclusion proof' }).first().click();
  assert.match(await mainText(page), /is in the log of \d+ events that the signed checkpoint below commits to/);
  await shot(page, 'proof');
  await page.context().close();
});

test('A complaint against an event is filed, assigned and resolved, each step in the ledger', async () => {
  const page = await newPage(chrome);
  await signIn(page, demo.base, 'oversight-crcl');
  await page.goto(demo.base + '/ledger/proof/3465');
  await page.getByRole('link', { name: 'File a complaint about this event' }).click();
  await fill(page, { text: 'The acceptance was recorded before the person arrived at Otay Mesa (synthetic).' });
  const filed = await record(page);
  assert.match(filed, /Recorded/, filed);
  assert.match(filed, /complaint filed/, filed);
  await page.goto(demo.base + '/complaints');
  await page.locator('#complaints a').first().click();
  assert.match(await page.locator('#status').innerText(), /filed/);
  await page.getByRole('link', { name: 'Assign' }).click();
  await fill(page, { assignee: 'Investigator Demo Hale' });
  assert.match(await record(page), /Recorded/);
  await page.goto(demo.base + '/complaints');
  await page.locator('#complaints a').first().click();
  await page.getByRole('link', { name: 'Resolve' }).click();
  await fill(page, { outcome: 'not_sustained', resolution: 'The hold room log and the custody record agree within the hour (synthetic).' });
  assert.match(await record(page), /Recorded/);
  await page.goto(demo.base + '/complaints');
  const row = await page.locator('#complaints tbody tr').first().innerText();
  assert.match(row, /resolved/, row);
  assert.match(row, /not sustained/, row);
  await page.goto(demo.base + '/oversight/audit?type=complaint_resolved');
  assert.match(await mainText(page), /complaint_resolved/);
  await shot(page, 'complaints-audit');
  // Another agency does not see the complaint.
  await signOut(page);
  await signIn(page, demo.base, 'O-TX-ANG-0001');
  await page.goto(demo.base + '/complaints');
  assert.match(await mainText(page), /No complaint you may see/);
  await page.context().close();
});

test('A planner moves the what-ifs and sees the series, the band and the binding constraint', async () => {
  const page = await newPage(chrome);
  await signIn(page, demo.base, 'O-ERO-SND-0001');
  await page.goto(demo.base + '/planner');
  await page.locator('#scenario').selectOption('seeds-2025');
  await page.locator('#runs').fill('2');
  // The slider shows its value as it moves.
  await page.locator('#ero_officers').fill('12000');
  assert.equal(await page.locator('#ero_officers-value').innerText(), '12000');
  await page.getByRole('button', { name: 'Run the plan' }).click();
  await page.waitForURL(/ero_officers=12000/);
  const binding = await page.locator('#binding').innerText();
  assert.match(binding, /used over the last 90 days/);
  // Both charts, each with its p5–p95 band, and the table of the same numbers.
  assert.equal(await page.locator('main figure svg').count(), 2);
  assert.ok((await page.locator('#planner-table tbody tr').count()) >= 12);
  assert.equal(await page.locator('#ero_officers').inputValue(), '12000');
  // More officers than the scenario's 6,500 move the arrests: a plan with fewer differs.
  const more = await page.locator('#planner-table tbody tr').last().innerText();
  await page.goto(demo.base + '/planner?scenario=seeds-2025&runs=2&ero_officers=3000');
  const fewer = await page.locator('#planner-table tbody tr').last().innerText();
  assert.notEqual(more, fewer);
  // A value out of bounds is refused with what was wrong.
  await page.goto(demo.base + '/planner?scenario=seeds-2025&beds=1');
  assert.match(await mainText(page), /Detention beds: "1" is not a number from 20000 to 150000/);
  await shot(page, 'planner-refused');
  await page.context().close();
});

test('A stranger reads the public report without signing in and downloads a table', async () => {
  const page = await newPage(chrome);
  await page.goto(demo.base + '/public');
  assert.match(await mainText(page), /how often CBP hands people to ICE/);
  assert.ok((await page.locator('figure.chart svg').count()) >= 5, 'charts');
  assert.ok((await page.locator('figure.map svg').count()) >= 2, 'state and county maps');
  const fy = page.locator('table', { has: page.locator('caption', { hasText: 'Initial book-ins by arresting agency and fiscal year' }) });
  assert.match(await fy.innerText(), /FY2024\s+187,298\s+90,615\s+277,913\s+67\.4%/);
  await page.getByText('Initial book-ins by arresting agency and month (72 rows)').click();
  assert.ok(await page.getByRole('rowheader', { name: '2024-09' }).first().isVisible());
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download book_ins_by_fiscal_year.csv' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'book_ins_by_fiscal_year.csv');
  await shot(page, 'public-stranger');
});

test('Oversight opens the ledger report, picks a period, and keeps the checkpoint it came from', async () => {
  const page = await newPage(chrome);
  await signIn(page, demo.base, 'oversight-crcl');
  await page.goto(demo.base + '/oversight/audit');
  await page.getByRole('link', { name: 'Ledger report' }).click();
  await page.getByLabel('From', { exact: true }).fill('2026-03-01');
  await page.getByLabel('To', { exact: true }).fill('2026-04-30');
  await page.getByRole('button', { name: 'Show this period' }).click();
  await page.waitForURL(/\/public\/ledger\?from=2026-03-01&to=2026-04-30/);
  const text = await mainText(page);
  assert.match(text, /Handoffs to ICE/);
  assert.match(text, /signed checkpoint of \d+ events, Merkle root/);
  const byMonth = page.locator('table', { has: page.locator('caption', { hasText: 'People handed to ICE, by month and channel' }) });
  assert.match(await byMonth.innerText(), /2026-03/);
  assert.doesNotMatch(text, /S-DEMO-\d{4}/, 'no person is named');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'the checkpoint it was computed from' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'checkpoint.txt');
  await shot(page, 'ledger-report-oversight');
});

/** Every page, as the role that uses it: an axe scan and a screenshot each. */
const PAGES = [
  ['login', null, '/login'],
  ['board', 'O-ERO-SND-0001', '/'],
  ['subjects', 'O-ERO-SND-0001', '/subjects?q=Demo'],
  ['subject', 'O-ERO-SND-0001', '/subjects/S-DEMO-0001'],
  ['forms', 'O-USBP-0001', '/forms'],
  ['form-subject', 'O-USBP-0001', '/forms/subject'],
  ['form-encounter', 'O-USBP-0001', '/forms/encounter'],
  ['form-booking', 'O-TX-ANG-0001', '/forms/booking'],
  ['form-identity-verification', 'O-TX-ANG-0001', '/forms/identity-verification'],
  ['form-handoff', 'O-USBP-0001', '/forms/handoff'],
  ['form-handoff-answer', 'O-ERO-SND-0001', '/forms/handoff-answer'],
  ['form-detainer', 'O-ERO-SND-0001', '/forms/detainer'],
  ['form-detainer-step', 'O-TX-ANG-0001', '/forms/detainer-step'],
  ['form-citizenship-claim', 'O-TX-ANG-0001', '/forms/citizenship-claim'],
  ['form-citizenship-determination', 'O-ERO-SND-0001', '/forms/citizenship-determination'],
  ['form-release', 'O-TX-ANG-0001', '/forms/release'],
  ['form-operation', 'O-ERO-SND-0001', '/forms/operation'],
  ['form-agreement', 'registry-admin', '/forms/agreement'],
  ['form-officer', 'registry-admin', '/forms/officer'],
  ['agreements', 'registry-admin', '/agreements'],
  ['agreements-by-state', 'registry-admin', '/agreements?by=state&model=task+force+model'],
  ['agreement', 'registry-admin', '/agreements/287G-FL-COLLIER-COUNTY-SHERIFFS-OFFICE-JEM-20200609'],
  ['operations', 'O-ERO-SND-0001', '/operations'],
  ['complaints', 'oversight-crcl', '/complaints'],
  ['form-complaint', 'oversight-crcl', '/forms/complaint?events=3465'],
  ['form-complaint-resolution', 'oversight-crcl', '/forms/complaint-resolution'],
  ['audit', 'oversight-crcl', '/oversight/audit'],
  ['verify', 'oversight-crcl', '/oversight/verify'],
  ['proof', 'oversight-crcl', '/ledger/proof/3465'],
  ['law', 'O-TX-ANG-0001', '/law'],
  ['law-answer', 'O-TX-ANG-0001', '/law?agency_kind=state_local_le&role=jail_staff&action=answer_detainer&when=2026-03-04T15%3A00&lat=31.3382&lon=-94.7291&facts=actor_has_custody+%3D+true%0D%0Ain_jail+%3D+true%0D%0Adetainer_answer+%3D+%22honor%22'],
  ['planner', 'O-ERO-SND-0001', '/planner'],
  ['planner-run', 'O-ERO-SND-0001', '/planner?scenario=seeds-2025&runs=2&beds=100000&removal_flights_per_day=12'],
  ['public', null, '/public'],
  ['public-signed-in', 'oversight-crcl', '/public'],
  ['ledger-report', null, '/public/ledger?from=2026-03-01&to=2026-04-30'],
  ['not-found', 'O-TX-ANG-0001', '/subjects/S-DEMO-0003'],
];

test('Every page passes the axe scan, and each is photographed', async () => {
  const pages = {};
  for (const [name, who, path] of PAGES) {
    const key = who || 'anonymous';
    if (!pages[key]) {
      pages[key] = await newPage(chrome, undefined, { axe: true });
      if (who) await signIn(pages[key], demo.base, who);
    }
    const page = pages[key];
    await page.goto(demo.base + path);
    await axe(page, name);
    await shot(page, name);
  }
  // And on a tablet.
  const tablet = await newPage(chrome, { width: 820, height: 1180 }, { axe: true });
  await signIn(tablet, demo.base, 'O-ERO-SND-0001');
  await axe(tablet, 'board on a tablet');
  await shot(tablet, 'board-tablet');
});

test('Keyboard only: sign in and reach a form', async () => {
  const page = await newPage(chrome);
  await page.goto(demo.base + '/login');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  await page.locator('button[name="principal"][value="O-USBP-0001"]').focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(demo.base + '/');
  await page.getByRole('link', { name: 'Record', exact: true }).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(demo.base + '/forms');
  assert.match(await mainText(page), /Register a person/);
});
