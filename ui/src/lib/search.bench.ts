// Benchmark (not a test): one keystroke's filter over 10,000 projects, against the frame budget.
// `make bench-filter` runs it (`vitest bench`); the goal is < 16 ms per keystroke.
import { bench, describe } from 'vitest';
import { filterIndex, searchIndex } from './search';

const projects = Array.from({ length: 10_000 }, (_, i) => ({ name: `Project ${i} of team ${i % 97}`, slug: `project-${i}` }));
const index = searchIndex(projects);
const query = 'project 12 of team 3';

describe('one keystroke over 10,000 projects (goal < 16 ms, one frame at 60 Hz)', () => {
  // The first, shortest and longest prefixes of the query: each keystroke filters the whole list
  // afresh (the worst case: no narrowing from the previous query).
  for (const length of [1, 8, query.length]) {
    const typed = query.slice(0, length);
    bench(`"${typed}"`, () => {
      filterIndex(index, typed);
    });
  }
  bench('building the index (once per list)', () => {
    searchIndex(projects);
  });
});
