-- 0002_market: a market room's trades and 1-minute bars (the market room
-- kind, rooms/market).
--
-- Both tables are written by the journal with COPY, from the rows a market
-- room hands it with a tick's update event (rooms.Record.Rows), in the same
-- transaction as that event: a trade or bar is durable exactly when the
-- event that carried it is, and stored once (a retried batch drops the
-- events already stored together with their rows). If a table is missing
-- (this migration not applied), the journal's transaction fails and is
-- retried until it is there: nothing is lost, but the room's journal lane
-- stalls, so apply migrations before serving market rooms.
--
-- market_trades: every trade a room applied, at the feed's time ts. No
-- primary key: a trade has no natural one (two trades of one symbol may
-- share ts, price and size), and exactly-once comes from the journal, not
-- from a constraint. Read by symbol and time range: index (symbol, ts).
--
-- market_bars: completed 1-minute OHLCV bars, start on a minute boundary
-- (UTC). Deliberately NOT unique on (symbol, start): after a server restart
-- a room may emit a second, partial bar for a minute it had already
-- written, and several rooms may carry one symbol; a unique violation would
-- fail the journal's transaction on every retry, forever. Readers merge the
-- rows of one (symbol, start), and of one bucket of a longer interval:
-- high = max, low = min, volume and trades summed, open of the earliest row
-- and close of the latest by (start, id) (journal ReadBars). id is the
-- insertion order, which the tie-break needs: the journal commits a room's
-- rows in the room's seq order.
--
-- Symbols and rooms are COLLATE "C" (machine-made ASCII; byte order keeps
-- index comparisons cheap, see 0001_rooms.sql). Volume: one trades row per
-- trade, so market_trades grows like room_events and needs the same kind of
-- pruning (by ts; partition by ts at high rates); bars are one row per
-- symbol per minute per room.

CREATE TABLE market_trades (
    room   text COLLATE "C" NOT NULL,
    symbol text COLLATE "C" NOT NULL,
    ts     timestamptz NOT NULL,
    price  float8 NOT NULL,
    size   bigint NOT NULL
);

CREATE INDEX market_trades_symbol_ts ON market_trades (symbol, ts);

CREATE TABLE market_bars (
    id     bigserial PRIMARY KEY,
    room   text COLLATE "C" NOT NULL,
    symbol text COLLATE "C" NOT NULL,
    start  timestamptz NOT NULL,
    open   float8 NOT NULL,
    high   float8 NOT NULL,
    low    float8 NOT NULL,
    close  float8 NOT NULL,
    volume bigint NOT NULL,
    trades bigint NOT NULL
);

CREATE INDEX market_bars_symbol_start ON market_bars (symbol, start);
