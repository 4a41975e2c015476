%% Erlang's message round trip between two nodes: the reference of the bench workload
%% ping_pong_erlang (issue 14). A process sends {self(), I} to an echo process on another node
%% and waits for the answer, over Erlang distribution (TCP on 127.0.0.1), the pattern of our
%% ping_pong. The echo node is a second BEAM started with peer (OTP 25); both load this module
%% from the directory given. Prints one JSON line: the latency of N round trips, after 100 of
%% warm-up.
%%
%% Run by bench/driver/wl_messaging.cpp:
%%   erlc -o DIR syn_bench_ping.erl
%%   erl -noshell -name syn_bench_ping@127.0.0.1 -setcookie C -pa DIR -run syn_bench_ping main N DIR
-module(syn_bench_ping).
-export([main/1, echo/0]).

main([NArg, Dir]) ->
    N = list_to_integer(NArg),
    {ok, Peer, Node} = peer:start_link(#{name => syn_bench_echo,
                                         host => "127.0.0.1",
                                         longnames => true,
                                         args => ["-setcookie", atom_to_list(erlang:get_cookie()), "-pa", Dir]}),
    Echo = spawn(Node, ?MODULE, echo, []),
    _ = [round_trip(Echo, I) || I <- lists:seq(1, 100)],
    Samples = lists:sort([round_trip(Echo, I) || I <- lists:seq(1, N)]),
    Echo ! stop,
    peer:stop(Peer),
    io:format("{\"median_ns\":~b,\"p99_ns\":~b,\"min_ns\":~b,\"max_ns\":~b,\"iterations\":~b}~n",
              [percentile(Samples, 50), percentile(Samples, 99), hd(Samples), lists:last(Samples), N]),
    halt(0).

%% Answers every {From, I} with {self(), I} until told to stop.
echo() ->
    receive
        {From, I} ->
            From ! {self(), I},
            echo();
        stop ->
            ok
    end.

round_trip(Echo, I) ->
    T0 = erlang:monotonic_time(nanosecond),
    Echo ! {self(), I},
    receive
        {Echo, I} -> ok
    end,
    erlang:monotonic_time(nanosecond) - T0.

%% The P-th percentile of a sorted list (nearest rank).
percentile(Sorted, P) ->
    Rank = max(1, (length(Sorted) * P + 99) div 100),
    lists:nth(Rank, Sorted).
