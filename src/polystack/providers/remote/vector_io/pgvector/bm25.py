"""Okapi BM25 keyword ranking in SQL, on a store's generated tsvector column and its GIN index.

PostgreSQL has no BM25: ts_rank and ts_rank_cd weigh how often and how close the query words occur,
but not how rare a word is, so a chunk matching a common word ties with one matching a rare one.
This query computes BM25 itself (k1 = 1.2, b = 0.75, Lucene's idf = ln(1 + (N - df + 0.5) / (df + 0.5))):
  - the query's words are normalised by the store's text search config (stemmed, stop words dropped),
    so what the user types is only ever words: search syntax is inert;
  - one GIN lookup finds every chunk holding a query word; from those `hits` come each word's df
    (a chunk holding the word is a hit) and its tf (its positions in the chunk's tsvector, cut down
    to the query words in C by setweight + ts_filter, which is what makes this fast);
  - N and the average length come from the catalogue's counters, kept by every write; a chunk's
    length is its number of distinct lexemes (length(tsvector)), the length PostgreSQL keeps at hand.
The filter applies after df is counted, as a word's rarity is a property of the whole store.
"""

from __future__ import annotations

K1 = 1.2
B = 0.75
MAX_TERMS = 64


def keyword_sql(table: str, columns: str, where: str) -> str:
    """$1 query text, $2 k, $3 chunk count, $4 average length, $5 the store's text search config;
    `where` (on `attributes`) may use $6 and on."""
    return f"""
WITH terms AS (
    SELECT lexeme FROM unnest(tsvector_to_array(to_tsvector($5::regconfig, $1::text))) AS lexeme
    LIMIT {MAX_TERMS}
),
hits AS MATERIALIZED (
    SELECT c.chunk_id, u.lexeme, array_length(u.positions, 1)::float8 AS tf, length(c.content_tsv) AS length,
           {where} AS passes
    FROM {table} c
    CROSS JOIN LATERAL unnest(ts_filter(setweight(c.content_tsv, 'A', (SELECT array_agg(lexeme) FROM terms)),
                                        '{{a}}')) AS u
    WHERE c.content_tsv @@ (SELECT string_agg(quote_literal(lexeme), ' | ')::tsquery FROM terms)
),
idf AS (
    SELECT lexeme, ln(1 + ($3::float8 - count(*) + 0.5) / (count(*) + 0.5)) AS idf FROM hits GROUP BY lexeme
),
best AS (
    SELECT h.chunk_id, sum(idf.idf * h.tf * {K1 + 1} / (h.tf + {K1} * ({1 - B} + {B} * h.length / $4::float8)))
        AS score
    FROM hits h JOIN idf USING (lexeme)
    WHERE h.passes
    GROUP BY h.chunk_id
    ORDER BY score DESC, h.chunk_id
    LIMIT $2
)
SELECT {columns}, best.score FROM best JOIN {table} c USING (chunk_id) ORDER BY best.score DESC, c.chunk_id"""
