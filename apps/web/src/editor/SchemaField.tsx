import { useEffect, useRef, useState } from 'react';
import { CommitThrottle } from '../compositor/commit-throttle';
import { coerceInput, valueAt } from './schema-form';
import type { FormField } from './schema-form';

/** Writes one param (path under params; `undefined` clears it). */
export type ParamWriter = (path: readonly string[], value: unknown) => void;

function fieldId(path: readonly string[]): string {
  return path.join('.');
}

/** One generated form field, recursing into fieldsets for nested objects and maps. */
export function SchemaField(props: {
  field: FormField;
  params: unknown;
  write: ParamWriter;
  onGestureStart: () => void;
}) {
  const { field, params, write } = props;
  const value = valueAt(params, field.path);
  const id = fieldId(field.path);
  const [error, setError] = useState<string | undefined>();
  const commit = (input: string | boolean) => {
    const r = coerceInput(field, input);
    if (!r.ok) {
      setError(r.message);
      return;
    }
    setError(undefined);
    write(field.path, r.value);
  };
  const label = (
    <span className="field-label" title={field.description}>
      {field.label}
      {field.required ? ' *' : ''}
    </span>
  );
  const wrap = (control: React.ReactNode) => (
    <label className="field" data-testid={`param-${id}`} data-param={id}>
      {label}
      {control}
      {error ? (
        <span className="field-error" data-testid={`param-error-${id}`}>
          {error}
        </span>
      ) : null}
    </label>
  );

  switch (field.control) {
    case 'number':
      return wrap(
        <NumberControl
          field={field}
          value={typeof value === 'number' ? value : undefined}
          onCommit={commit}
          onGestureStart={props.onGestureStart}
          id={id}
        />,
      );
    case 'boolean':
      return wrap(
        <input
          type="checkbox"
          checked={typeof value === 'boolean' ? value : field.default === true}
          onChange={(e) => {
            props.onGestureStart();
            commit(e.target.checked);
          }}
          data-testid={`param-input-${id}`}
        />,
      );
    case 'enum':
      return wrap(
        <select
          value={typeof value === 'string' ? value : ''}
          onChange={(e) => {
            props.onGestureStart();
            commit(e.target.value);
          }}
          data-testid={`param-input-${id}`}
        >
          <option value="">
            {field.default !== undefined ? `default (${String(field.default)})` : '—'}
          </option>
          {field.options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>,
      );
    case 'string':
      return wrap(
        <TextControl
          value={typeof value === 'string' ? value : ''}
          placeholder={typeof field.default === 'string' ? field.default : ''}
          onCommit={(t) => {
            props.onGestureStart();
            commit(t);
          }}
          id={id}
        />,
      );
    case 'object':
      return (
        <fieldset className="fieldset" data-testid={`param-${id}`}>
          <legend>{field.label}</legend>
          {field.fields.map((f) => (
            <SchemaField key={fieldId(f.path)} {...props} field={f} />
          ))}
        </fieldset>
      );
    case 'map':
      return (
        <fieldset className="fieldset" data-testid={`param-${id}`}>
          <legend>{field.label}</legend>
          {field.entries.length === 0 ? <p className="muted">none</p> : null}
          {field.entries.map((f) => (
            <SchemaField key={fieldId(f.path)} {...props} field={f} />
          ))}
        </fieldset>
      );
    case 'json':
      return wrap(
        <TextControl
          multiline
          value={value === undefined ? '' : JSON.stringify(value, null, 2)}
          placeholder={field.default !== undefined ? JSON.stringify(field.default) : ''}
          onCommit={(t) => {
            props.onGestureStart();
            commit(t);
          }}
          id={id}
        />,
      );
  }
}

/** Text committed on blur or Enter (not on every key), so a half-typed value is never written. */
function TextControl(props: {
  value: string;
  placeholder: string;
  onCommit: (text: string) => void;
  id: string;
  multiline?: boolean;
}) {
  const [text, setText] = useState(props.value);
  const editing = useRef(false);
  useEffect(() => {
    if (!editing.current) setText(props.value);
  }, [props.value]);
  const common = {
    value: text,
    placeholder: props.placeholder,
    onFocus: () => (editing.current = true),
    onBlur: () => {
      editing.current = false;
      if (text !== props.value) props.onCommit(text);
    },
    'data-testid': `param-input-${props.id}`,
  };
  return props.multiline ? (
    <textarea {...common} rows={4} spellCheck={false} onChange={(e) => setText(e.target.value)} />
  ) : (
    <input
      {...common}
      type="text"
      onChange={(e) => setText(e.target.value)}
      onKeyDown={(e) => {
        if (e.key === 'Enter') (e.target as HTMLInputElement).blur();
      }}
    />
  );
}

/**
 * A number box, plus a slider when the schema bounds it. Slider drags commit at most ~10/s
 * and the final value at release; the box commits on blur or Enter.
 */
function NumberControl(props: {
  field: Extract<FormField, { control: 'number' }>;
  value: number | undefined;
  onCommit: (input: string) => void;
  onGestureStart: () => void;
  id: string;
}) {
  const { field } = props;
  const shown = props.value ?? (typeof field.default === 'number' ? field.default : undefined);
  const [text, setText] = useState(props.value === undefined ? '' : String(props.value));
  const [slide, setSlide] = useState<number | undefined>();
  const editing = useRef(false);
  const throttle = useRef<CommitThrottle<number>>(undefined);
  useEffect(() => {
    if (!editing.current) setText(props.value === undefined ? '' : String(props.value));
  }, [props.value]);
  const onCommit = useRef(props.onCommit);
  onCommit.current = props.onCommit;

  const endSlide = () => {
    throttle.current?.end();
    throttle.current = undefined;
    setSlide(undefined);
  };

  return (
    <span className="number-control">
      {field.slider ? (
        <input
          type="range"
          min={field.min}
          max={field.max}
          step={field.step}
          value={slide ?? shown ?? field.min}
          onPointerDown={() => {
            props.onGestureStart();
            throttle.current = new CommitThrottle((v) => onCommit.current(String(v)));
          }}
          onChange={(e) => {
            const v = Number(e.target.value);
            if (throttle.current) {
              setSlide(v);
              throttle.current.push(v);
            } else {
              // Keyboard: each step is its own committed edit.
              props.onGestureStart();
              onCommit.current(String(v));
            }
          }}
          onPointerUp={endSlide}
          onPointerCancel={endSlide}
          data-testid={`param-slider-${props.id}`}
        />
      ) : null}
      <input
        type="number"
        value={slide !== undefined ? String(slide) : text}
        placeholder={typeof field.default === 'number' ? String(field.default) : ''}
        min={field.min}
        max={field.max}
        step={field.integer ? 1 : 'any'}
        onFocus={() => (editing.current = true)}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => {
          editing.current = false;
          if (text !== (props.value === undefined ? '' : String(props.value))) {
            props.onGestureStart();
            props.onCommit(text);
          }
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') (e.target as HTMLInputElement).blur();
        }}
        data-testid={`param-input-${props.id}`}
      />
    </span>
  );
}
