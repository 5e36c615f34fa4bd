-- Steps keep the order their plan gave them, so a run reads back in plan order.
alter table flow_steps add column ordinal int;

-- Rows written before this column existed: their order is in the run's creation event.
update flow_steps s set ordinal = p.ord - 1
from events e, jsonb_array_elements(e.data->'steps') with ordinality as p(step, ord)
where e.type = 'flow_run.created' and e.stream_id = s.run_id and p.step->>'step_id' = s.step_id;
update flow_steps set ordinal = 0 where ordinal is null;

alter table flow_steps alter column ordinal set not null;
