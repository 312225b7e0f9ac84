// The documents list's sorting and filtering, over the documents loaded so far. Pure.
// Each document carries `owner` (the owner's name, or '' while unknown) beside its role.

const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });

export const SORTS = {
  updated: { label: 'Last updated', compare: (a, b) => b.updated_at.localeCompare(a.updated_at) },
  title: { label: 'Title', compare: (a, b) => collator.compare(a.title, b.title) },
  owner: { label: 'Owner', compare: (a, b) => collator.compare(a.owner ?? '', b.owner ?? '') },
};

export const SHOWS = {
  all: { label: 'All documents', keep: () => true },
  mine: { label: 'Owned by me', keep: (doc) => doc.role === 'owner' },
  shared: { label: 'Shared with me', keep: (doc) => doc.role !== 'owner' },
};

function matches(doc, query) {
  if (!query) return true;
  const needle = query.trim().toLocaleLowerCase();
  return [doc.title, doc.owner ?? ''].some((text) => text.toLocaleLowerCase().includes(needle));
}

/** The documents to show, in order: `query` matches title or owner; `show` and `sort` keys. */
export function filterAndSort(docs, { query = '', show = 'all', sort = 'updated' } = {}) {
  const keep = (SHOWS[show] ?? SHOWS.all).keep;
  const { compare } = SORTS[sort] ?? SORTS.updated;
  return docs.filter((doc) => keep(doc) && matches(doc, query))
    .sort((a, b) => compare(a, b) || SORTS.updated.compare(a, b));
}
