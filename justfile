# tickroom recipes. Install just with: npm install -g rust-just   (or: npx rust-just <recipe>)

default:
    @just --list

# Run the server: ws://127.0.0.1:8080/ws, with the demo market room and API key "dev" (extra flags pass through)
run *ARGS:
    go run ./services/tickroomd -demo -publish-key dev {{ARGS}}

# Feed the demo market from outside: a simulated market through POST /api/publish (needs just run)
feed RATE="1000" DURATION="10s":
    go run ./services/tickfeed -key dev -room market -symbols 50 -rate {{RATE}} -duration {{DURATION}}

# Run the whole test suite (the README's test command)
test:
    go test ./...

# Run what CI runs: gofmt, go vet, the tests, the tests under -race
ci:
    bash .ci/run

# The load harness: one standard scenario end to end (ticker, fanout, arena, connect: bench/SCENARIO.sh), results in /tmp/tickbench-results; extra flags go to tickbench
bench SCENARIO="ticker" *ARGS:
    bash bench/{{SCENARIO}}.sh {{ARGS}}

# Hot-path Go benchmarks: one arena tick with 10 and 1,000 real members (binary and STOMP), the engine alone, idle connection memory
gobench:
    go test -run '^$' -bench 'ArenaTick|IdleConnectionMemory' -benchmem ./realtime
    go test -run '^$' -bench 'Tick' -benchmem ./rooms

# The demo: bots play an arena on a running server (just run, in another terminal)
demo BOTS="8" SPECTATORS="20" DURATION="10s":
    go run ./services/arenabot -bots {{BOTS}} -spectators {{SPECTATORS}} -duration {{DURATION}}

# Fuzz the binary protocol's decoder, publish items, the publish API and the STOMP frame parser (corpora in */testdata/fuzz)
fuzz TIME="60s":
    go test ./schema -run '^$' -fuzz FuzzDecode -fuzztime {{TIME}}
    go test ./schema -run '^$' -fuzz FuzzPublishItemDecode -fuzztime {{TIME}}
    go test ./realtime -run '^$' -fuzz FuzzPublish -fuzztime {{TIME}}
    go test ./realtime/stomp -run '^$' -fuzz FuzzParser -fuzztime {{TIME}}

# The STOMP conformance suite: the real @stomp/stompjs client against a live tickroomd (needs node, npm)
stompjs:
    go test -count=1 -run TestStompJSConformance -v ./services/tickroomd

# A local PostgreSQL for the persistence work (Docker; see the README for a Debian install instead)
db:
    docker run -d --name tickroom-pg -p 127.0.0.1:5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:16
    @echo "TICKROOM_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"

# gofmt and go vet
lint:
    test -z "$(gofmt -l $(git ls-files '*.go'))" || (gofmt -l $(git ls-files '*.go'); exit 1)
    go vet ./...
