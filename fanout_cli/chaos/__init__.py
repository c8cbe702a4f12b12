"""`fanout chaos`: faults injected into a running stack, each run reconciled three ways.

A scenario runs one real campaign through the stack and strikes once
mid-campaign (kill -9 of a service, the broker stopped, Postgres restarted, a
pause, a cancel, the ESP throttling or down). When the campaign has ended
and every event has flowed back, three independent sources are compared:
the ESP simulator's own record of the campaign's calls (accepted,
duplicates, decided outcomes), the campaign row (campaign_api), and the
reports (funnel, recipients CSV, per-lead status). The verdict names every
guarantee of docs/reliability.md the run broke.

    scenarios  what each scenario does and expects
    context    what a fault works with and reports (FaultContext, Strike, Fault)
    faults     kill / stop / restart components by their pid files
    actions    pause/resume, cancel, the ESP down: faults made through the APIs
    sender     the sender's pacing for the run, and its settings (the duplicate bound)
    driver     the campaign through the public APIs (account, leads, launch, commands)
    esp        the simulator's control API (knobs, down window, request log)
    reconcile  the three sources, gathered once the campaign settled
    verdict    the checks
    table      the verdict table and the JSON results
    runner     one scenario from launch to verdict; the whole suite
"""
